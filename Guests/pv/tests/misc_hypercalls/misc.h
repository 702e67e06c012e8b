/* Shared declarations of the misc_hypercalls kernel (main.c, multicall.c, cpu_state.c,
   iopl.c). */
#ifndef MISC_H
#define MISC_H

#include "segments.h"

#define UNMAPPED_VA 0x00007ff000000000UL
#define NONCANON    0x8000000000000000UL

#define VMASST_TYPE_4gb_segments        0
#define VMASST_TYPE_4gb_segments_notify 1
#define VMASST_TYPE_pae_extended_cr3    3
#define VMASST_TYPE_architectural_iopl  4
#define VMASST_TYPE_runstate_update_flag 5
#define VMASST_TYPE_m2p_strict          32

#define PHYSDEVOP_set_iopl 6
struct physdev_set_iopl { uint32_t iopl; };

#define XENNMI_register_callback   0
#define XENNMI_unregister_callback 1

static inline long hypercall_physdev_op(int cmd, void *arg) {
    return _hypercall2(__HYPERVISOR_physdev_op, cmd, arg);
}
static inline long hypercall_sched_op_compat(int cmd, unsigned long arg) {
    return _hypercall2(__HYPERVISOR_sched_op_compat, cmd, arg);
}

void test_multicall(void);
void test_vm_assist(void);
void test_segment_base(void);
void test_debugreg(void);
void test_iopl(void);

#endif
