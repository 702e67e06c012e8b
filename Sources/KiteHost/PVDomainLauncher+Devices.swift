import Foundation
import KiteControl
import Toolstack

extension PVDomainLauncher {
    /// xl disk and vif specs (`kite run --disk`, `--vif`) checked by the same rules kited
    /// applies to `kite create`: relative disk targets are resolved against `directory`.
    /// Returns the devices and what Kite will ignore, as warnings.
    public static func devices(
        disks: [String], vifs: [String], resolvingPathsAgainst directory: String
    ) throws(LaunchError) -> (disks: [PVDiskSpec], vifs: [PVNetworkSpec], warnings: [String]) {
        let resolved = disks.map { text -> String in
            guard var d = try? XLDiskSpec(parsing: text), let t = d.target, d.script == nil, !t.hasPrefix("/") else {
                return text
            }
            d.target = URL(fileURLWithPath: directory).appendingPathComponent(t).standardized.path
            return d.canonical
        }
        do {
            let (pvDisks, diskWarnings) = try DomainCreateSpec.hostDisks(resolved)
            let (pvVifs, vifWarnings) = try DomainCreateSpec.hostVifs(vifs)
            return (pvDisks, pvVifs, diskWarnings + vifWarnings)
        } catch {
            throw .configuration(error.message)
        }
    }
}
