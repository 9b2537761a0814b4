// CoreLocation only: Linux builds (scripts/test-swift.sh) skip this whole file, and so does macOS, where CoreLocation
// cannot range beacons (`startRangingBeacons(satisfying:)` is unavailable there).
//
// NOT COMPILED OR RUN IN THIS REPOSITORY'S CHECKS: there is no Apple toolchain here. It is written against the iOS
// 15 SDK's documented API and must be built and tried on a device before a release. The ingestion path it drives
// (`Proximity.identity` per ranged beacon, then `Proximity.scanTick`) is what ProximityTests exercise on Linux.
#if canImport(CoreLocation) && os(iOS)
import CoreLocation
import Foundation
#if canImport(UIKit)
import UIKit
#endif

/// Feeds iOS beacon ranging to a ``Footfall`` instance's ``Proximity``: the platform glue, no rules of its own.
///
/// It monitors one `CLBeaconRegion` per proximity UUID the app passes (at most ``maxRegions``, CoreLocation's limit
/// per app, shared with the app's own regions). Inside a region it ranges the region's beacons with a
/// `CLBeaconIdentityConstraint`; each ranging callback (about once a second) feeds every beacon heard (RSSI not 0)
/// to ``Proximity/identity(uuid:major:minor:rssi:ageMs:)`` and then calls ``Proximity/scanTick()``. Leaving a region
/// stops its ranging and counts as one scan cycle that heard nothing. When ranging stops for anything else (the
/// location authorization is lost, monitoring or ranging fails, the app goes to the background, ``stop()``) it
/// reports ``Proximity/scanning(_:)`` `false`, so that time is unknown, never absence; it reports `true` when
/// ranging resumes.
///
/// The app asks for location authorization itself (When In Use is enough in the foreground; region monitoring in
/// the background needs Always) and for the shopper's `location` consent through ``Footfall/grant(_:method:)``:
/// without it the SDK drops every reading.
///
/// Create, start and stop it on the main thread; CoreLocation calls its delegate there.
///
/// ```swift
/// let ranging = try BeaconRanging(footfall: footfall, proximityUUIDs: [UUID(uuidString: "2F234454-…")!])
/// ranging.start()
/// ```
///
/// - Important: this type is not compiled or run by this repository's checks (they run on Linux); see
///   `docs/ios.md`.
public final class BeaconRanging: NSObject, CLLocationManagerDelegate {
    /// The most regions CoreLocation monitors for one app.
    public static let maxRegions = 20

    private let proximity: Proximity
    private let manager: CLLocationManager
    private let regions: [CLBeaconRegion]
    /// Regions being ranged now, by identifier (main thread only).
    private var ranging: Set<String> = []
    private var started = false
    private var inForeground = true
    private var observers: [NSObjectProtocol] = []

    /// - Parameters:
    ///   - footfall: the instance to feed.
    ///   - proximityUUIDs: the proximity UUIDs of the stores' beacons (from the same configuration as the zones).
    ///   - manager: the location manager to use; a new one by default. Its delegate becomes this object.
    /// - Throws: ``FootfallError/invalidInput(reason:)`` for no UUID or more than ``maxRegions``.
    public init(footfall: Footfall, proximityUUIDs: [UUID], manager: CLLocationManager = CLLocationManager()) throws {
        let unique = Array(Set(proximityUUIDs)).sorted { $0.uuidString < $1.uuidString }
        guard !unique.isEmpty, unique.count <= BeaconRanging.maxRegions else {
            throw FootfallError.invalidInput(
                reason: "BeaconRanging needs 1 to \(BeaconRanging.maxRegions) proximity UUIDs, got \(unique.count)"
            )
        }
        self.proximity = footfall.proximity
        self.manager = manager
        self.regions = unique.map { uuid in
            let region = CLBeaconRegion(uuid: uuid, identifier: "dev.footfall.beacons.\(uuid.uuidString)")
            region.notifyEntryStateOnDisplay = true
            return region
        }
        super.init()
        manager.delegate = self
    }

    deinit {
        observers.forEach { NotificationCenter.default.removeObserver($0) }
    }

    /// Starts monitoring the regions (and ranging the ones the phone is in) once location is authorized.
    public func start() {
        guard !started else { return }
        started = true
        #if canImport(UIKit)
        let center = NotificationCenter.default
        observers.append(center.addObserver(
            forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main
        ) { [weak self] _ in self?.setForeground(false) })
        observers.append(center.addObserver(
            forName: UIApplication.willEnterForegroundNotification, object: nil, queue: .main
        ) { [weak self] _ in self?.setForeground(true) })
        #endif
        apply(manager.authorizationStatus)
    }

    /// Stops ranging and monitoring, and tells the SDK scanning stopped.
    public func stop() {
        guard started else { return }
        started = false
        observers.forEach { NotificationCenter.default.removeObserver($0) }
        observers.removeAll()
        for region in regions {
            manager.stopRangingBeacons(satisfying: region.beaconIdentityConstraint)
            manager.stopMonitoring(for: region)
        }
        stoppedRanging()
    }

    // MARK: - CLLocationManagerDelegate

    public func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        apply(manager.authorizationStatus)
    }

    public func locationManager(_ manager: CLLocationManager, didDetermineState state: CLRegionState, for region: CLRegion) {
        guard let region = ours(region) else { return }
        switch state {
        case .inside:
            startRanging(region)
        case .outside:
            leave(region)
        case .unknown:
            break
        @unknown default:
            break
        }
    }

    public func locationManager(_ manager: CLLocationManager, didEnterRegion region: CLRegion) {
        if let region = ours(region) {
            startRanging(region)
        }
    }

    public func locationManager(_ manager: CLLocationManager, didExitRegion region: CLRegion) {
        if let region = ours(region) {
            leave(region)
        }
    }

    public func locationManager(
        _ manager: CLLocationManager,
        didRange beacons: [CLBeacon],
        satisfying beaconConstraint: CLBeaconIdentityConstraint
    ) {
        for beacon in beacons where beacon.rssi != 0 {
            // A reading the SDK refuses (or drops without consent) changes nothing; the next cycle goes on.
            _ = try? proximity.identity(
                uuid: beacon.uuid,
                major: beacon.major.uint16Value,
                minor: beacon.minor.uint16Value,
                rssi: beacon.rssi
            )
        }
        _ = try? proximity.scanTick()
    }

    public func locationManager(
        _ manager: CLLocationManager,
        didFailRangingFor beaconConstraint: CLBeaconIdentityConstraint,
        error: Error
    ) {
        if let region = regions.first(where: { $0.beaconIdentityConstraint == beaconConstraint }) {
            ranging.remove(region.identifier)
        }
        if ranging.isEmpty {
            stoppedRanging()
        }
    }

    public func locationManager(_ manager: CLLocationManager, monitoringDidFailFor region: CLRegion?, withError error: Error) {
        if let region, let region = ours(region) {
            manager.stopRangingBeacons(satisfying: region.beaconIdentityConstraint)
            ranging.remove(region.identifier)
        }
        stoppedRanging()
    }

    // MARK: - Internals

    private func apply(_ status: CLAuthorizationStatus) {
        guard started else { return }
        switch status {
        case .authorizedAlways, .authorizedWhenInUse:
            for region in regions {
                manager.startMonitoring(for: region)
                manager.requestState(for: region)
            }
        default:
            // Not (or no longer) authorized: nothing is heard, and that is not absence.
            for region in regions {
                manager.stopRangingBeacons(satisfying: region.beaconIdentityConstraint)
                manager.stopMonitoring(for: region)
            }
            ranging.removeAll()
            stoppedRanging()
        }
    }

    private func ours(_ region: CLRegion) -> CLBeaconRegion? {
        regions.first { $0.identifier == region.identifier }
    }

    private func startRanging(_ region: CLBeaconRegion) {
        guard started, !ranging.contains(region.identifier) else { return }
        let wasRanging = !ranging.isEmpty
        ranging.insert(region.identifier)
        manager.startRangingBeacons(satisfying: region.beaconIdentityConstraint)
        if !wasRanging && inForeground {
            _ = try? proximity.scanning(true)
        }
    }

    /// CoreLocation says the phone left `region`: one scan cycle that heard nothing, then its ranging stops.
    private func leave(_ region: CLBeaconRegion) {
        guard ranging.contains(region.identifier) else { return }
        _ = try? proximity.scanTick()
        manager.stopRangingBeacons(satisfying: region.beaconIdentityConstraint)
        ranging.remove(region.identifier)
        if ranging.isEmpty {
            stoppedRanging()
        }
    }

    private func setForeground(_ foreground: Bool) {
        inForeground = foreground
        if !foreground {
            stoppedRanging()
        } else if !ranging.isEmpty {
            _ = try? proximity.scanning(true)
        }
    }

    private func stoppedRanging() {
        _ = try? proximity.scanning(false)
    }
}
#endif
