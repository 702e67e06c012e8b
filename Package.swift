// swift-tools-version: 6.1
import PackageDescription

// Release builds of the engine drop Swift's exclusivity checks: the hot loop works on
// unsafe pointers whose bounds are checked once at TLB fill, and dynamic exclusivity
// enforcement costs a runtime call per access on class properties.
let engineSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "Kite",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kite", targets: ["Kite"]),
        .executable(name: "kite-difftest", targets: ["KiteDiffTest"]),
        .executable(name: "kite-bench", targets: ["KiteBench"]),
        .executable(name: "kited", targets: ["Kited"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "CHostAtomics"),
        .target(name: "GuestMemory", dependencies: ["CHostAtomics"], swiftSettings: engineSettings),
        .target(name: "X86", dependencies: ["GuestMemory"], swiftSettings: engineSettings),
        .target(
            name: "X86Interpreter", dependencies: ["X86", "GuestMemory"],
            swiftSettings: engineSettings),
        .target(name: "BareMetal", dependencies: ["X86", "GuestMemory"]),
        .target(name: "XenABI"),
        .target(name: "XenControl", dependencies: ["XenABI", "GuestMemory"]),
        .target(
            name: "XenCore", dependencies: ["XenABI", "GuestMemory", "X86", "XenControl"]),
        .target(name: "XenStore", dependencies: ["XenABI", "XenControl"]),
        .systemLibrary(name: "CSlirp", providers: [.apt(["libslirp-dev"])]),
        .target(
            name: "XenBackends",
            dependencies: ["XenABI", "GuestMemory", "XenControl", "XenStore", "CSlirp"]),
        .systemLibrary(
            name: "CDecompress",
            providers: [.apt(["liblzma-dev", "zlib1g-dev", "libzstd-dev"])]),
        .target(
            name: "Toolstack",
            dependencies: ["XenABI", "GuestMemory", "XenControl", "XenStore", "CDecompress"]),
        .target(name: "KiteControl", dependencies: ["XenABI"]),
        .target(
            name: "KiteHost",
            dependencies: [
                "X86", "X86Interpreter", "GuestMemory", "XenABI", "XenControl", "XenCore", "Toolstack",
                "XenStore", "XenBackends", "KiteControl",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "Kite",
            dependencies: [
                "X86", "X86Interpreter", "GuestMemory", "BareMetal",
                "XenABI", "XenControl", "XenCore", "Toolstack", "KiteHost", "KiteControl", "XenStore", "XenBackends",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "Kited",
            dependencies: [
                "XenABI", "Toolstack", "KiteHost", "KiteControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "KiteDiffTest",
            dependencies: [
                "X86", "X86Interpreter", "GuestMemory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "KiteBench",
            dependencies: [
                "X86", "X86Interpreter", "GuestMemory", "BareMetal", "XenABI", "XenCore", "KiteHost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "GuestMemoryTests", dependencies: ["GuestMemory"]),
        .testTarget(
            name: "X86InterpreterTests", dependencies: ["X86", "X86Interpreter", "GuestMemory"]),
        .testTarget(
            name: "BareMetalTests", dependencies: ["BareMetal", "X86", "X86Interpreter", "GuestMemory"]),
        .testTarget(
            name: "XenCoreTests",
            dependencies: ["XenCore", "XenABI", "XenControl", "X86", "X86Interpreter", "GuestMemory"]),
        .testTarget(
            name: "ToolstackTests", dependencies: ["Toolstack", "XenABI", "XenControl", "GuestMemory", "CDecompress"]),
        .testTarget(name: "XenStoreTests", dependencies: ["XenStore", "XenABI", "XenControl"]),
        .testTarget(
            name: "XenBackendsTests", dependencies: ["XenBackends", "XenStore", "XenABI", "XenControl", "GuestMemory"]),
        .testTarget(name: "PVGuestTests", dependencies: ["KiteHost", "XenABI", "XenControl"]),
        .testTarget(name: "KiteControlTests", dependencies: ["KiteControl", "XenABI"]),
        .testTarget(
            name: "KiteHostTests",
            dependencies: ["KiteHost", "KiteControl", "Toolstack", "XenABI", "XenControl", "XenBackends", "XenStore"]),
        .testTarget(name: "RepositoryPolicyTests"),
    ]
)
