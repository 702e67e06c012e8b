import Foundation
import GuestMemory
import Toolstack
import XenABI
import XenControl
import XenCore

/// The steps of `xl create` for one PV domain on a host: the domain with all its memory,
/// the xenstore and console ports, the builder's layout, the toolstack grants, the dom0
/// services, the boot registers. On any failure everything made so far is undone.
struct PVGuestBuilder {
    let host: PVHost
    let spec: PVDomainSpec
    let id: DomainID
    let name: String

    func build() throws(LaunchError) -> PVGuest {
        let image: KernelImage
        do { image = try KernelImage(bytes: spec.kernel) } catch { throw .kernel("\(spec.kernelName): \(error)") }
        let pages = spec.memoryMiB << 8
        let history = ConsoleHistory()
        let hypervisor = host.hypervisor
        let domain: Domain
        do {
            domain = try hypervisor.createDomain(
                DomainConfiguration(id: id, memoryPages: pages, vcpus: max(spec.maxVCPUs ?? spec.vcpus, spec.vcpus)),
                console: { history.append($0) })
        } catch {
            throw .hypervisor("\(error)")
        }
        let uuid = spec.uuid ?? UUID()
        domain.handle = withUnsafeBytes(of: uuid.uuid) { Array($0) }
        var attached: PVDomainServices?
        do throws(LaunchError) {
            guard let memory = domain.memory else { throw .hypervisor("the domain has no memory") }
            // Xen: XEN_DOMCTL_max_mem — the balloon may grow the domain up to maxmem.
            memory.setMaximumPages(max(spec.maxMemoryMiB ?? spec.memoryMiB, spec.memoryMiB) << 8)
            // Xen's toolstack allocates the xenstore port first, then the console's (ports 1, 2).
            let storePort: EventChannelPort
            let consolePort: EventChannelPort
            do {
                storePort = try domain.allocateUnboundPort(remote: .controlDomain)
                consolePort = try domain.allocateUnboundPort(remote: .controlDomain)
            } catch {
                throw .hypervisor("cannot allocate the xenstore and console event channels: \(error)")
            }
            let p2m = (0..<pages).map { memory.machineFrame(for: GuestFrame($0)) }
            let parameters = PVBuildParameters(
                memoryPages: pages, commandLine: spec.commandLine, ramdisk: spec.ramdisk,
                sharedInfo: domain.sharedInfoFrame.address,
                storeEventChannel: storePort, consoleEventChannel: consolePort)
            let boot: PVBootState
            do {
                boot = try PVDomainBuilder.build(
                    kernel: image, parameters: parameters,
                    memory: PhysicalBuildMemory(ram: hypervisor.machine.memory, p2m: p2m))
            } catch {
                throw .kernel("\(spec.kernelName): \(error)")
            }
            host.log(id, .debug, "\(image.info)\n\(boot.layout)")
            // Xen's toolstack: grant refs 0 and 1 let the console and xenstore backends map
            // the two rings.
            do {
                try domain.seedToolstackGrants(console: boot.consoleMachineFrame, xenstore: boot.xenstoreMachineFrame)
            } catch {
                throw .hypervisor("cannot seed the console and xenstore grants: \(error)")
            }
            let services = try PVDomainServices.attach(
                host: host, domain: id, boot: boot, storePort: storePort, consolePort: consolePort,
                name: name, uuid: uuid, spec: spec, sink: { history.append($0) })
            attached = services
            do {
                try domain.boot(
                    rip: boot.rip, rsp: boot.rsp, startInfo: boot.rsi, topLevelTable: boot.topLevelPageTable,
                    using: hypervisor.pageTables)
            } catch {
                throw .hypervisor("the hypervisor refused the builder's page tables: \(error)")
            }
            return PVGuest(
                id: id, name: name, uuid: uuid, spec: spec, console: history, domain: domain, services: services,
                host: host)
        } catch {
            attached?.detach()
            hypervisor.destroy(id)
            throw error
        }
    }
}
