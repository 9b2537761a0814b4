import Foundation

/// Sorted latencies of `calls` calls after `warmUp`; a call refused as full lets the writer catch up (`drain`) and
/// the retry is measured instead.
func timed(calls: Int, warmUp: Int, drain: () throws -> Void, trackOnce: () throws -> Bool) rethrows -> [UInt64] {
    func one() throws -> UInt64 {
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            if try trackOnce() { return DispatchTime.now().uptimeNanoseconds - start }
            try drain()
        }
    }
    for _ in 0..<warmUp { _ = try one() }
    try drain()
    var latencies = [UInt64](repeating: 0, count: calls)
    for i in 0..<calls { latencies[i] = try one() }
    try drain()
    latencies.sort()
    return latencies
}

/// A fresh directory per measured instance, removed afterwards.
func withDirectory<T>(_ body: (String) throws -> T) rethrows -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("footfall-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir.path)
}
