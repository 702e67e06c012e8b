// Toolstack: what Xen's dom0 tools are to a domain — today the PV64 domain builder
// (DomainBuilder/: ELF and bzImage loading, Xen notes, the PV memory layout, writing the
// initial image). Config parsing, lifecycle and migration will join it here.
