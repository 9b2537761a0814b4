// `track()` from Swift as an app calls it, with the per-call crossing it replaced as the baseline measured in the
// same run: one JSON line with p50/p99/p99.9 latency in nanoseconds (the Kotlin benchmark's keys, `swift_` first).
//
// - `swift_track`: `Footfall.track(name, properties:)`, the buffered hand-off;
// - `per_call_crossing`: properties encoded to JSON on the caller's thread, then one `trackEvent` crossing per call
//   (what `track()` did before the buffer).
//
// Not a test; run with `scripts/test-swift.sh --bench` (release library, release build). Args: [calls] [warm-up].
import Foundation

let arguments = CommandLine.arguments
let calls = arguments.count > 1 ? Int(arguments[1]) ?? 200_000 : 200_000
let warmUp = arguments.count > 2 ? Int(arguments[2]) ?? 50_000 : 50_000

func percentile(_ sorted: [UInt64], _ p: Double) -> UInt64 {
    sorted[Int(Double(sorted.count - 1) * p)]
}

let results: [(String, [UInt64])] = [
    ("swift_track", measureLayer(calls: calls, warmUp: warmUp)),
    ("per_call_crossing", measureCrossing(calls: calls, warmUp: warmUp)),
]
var fields = ["\"calls\":\(calls)", "\"warm_up\":\(warmUp)"]
for (name, latencies) in results {
    fields.append("\"\(name)_p50_ns\":\(percentile(latencies, 0.50))")
    fields.append("\"\(name)_p99_ns\":\(percentile(latencies, 0.99))")
    fields.append("\"\(name)_p999_ns\":\(percentile(latencies, 0.999))")
}
let layer = Double(percentile(results[0].1, 0.5))
let crossing = Double(percentile(results[1].1, 0.5))
fields.append("\"track_vs_per_call_crossing_p50\":\(String(format: "%.3f", layer / crossing))")
print("{" + fields.joined(separator: ",") + "}")
