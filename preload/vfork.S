/*
 * vfork() cannot be wrapped in C: the child returns on the parent's stack
 * and would clobber the wrapper's frame. Like glibc's own, this keeps the
 * return address in a register across the system call; only the parent
 * calls back into C, once the child has exec'd or exited.
 */
	.text
	.globl	vfork
	.type	vfork, @function
	.globl	__vfork
	.type	__vfork, @function
vfork:
__vfork:
	.cfi_startproc
	sub	$8, %rsp		/* align the stack for the call */
	.cfi_adjust_cfa_offset 8
	call	initsafe_vfork_prepare
	add	$8, %rsp
	.cfi_adjust_cfa_offset -8
	pop	%rdi			/* return address, safe from the child */
	.cfi_adjust_cfa_offset -8
	.cfi_register %rip, %rdi
	mov	$58, %eax		/* SYS_vfork */
	syscall
	push	%rdi
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rip, 0
	cmp	$-4095, %rax
	jae	1f
	test	%rax, %rax
	jz	2f			/* child: touch nothing */
	push	%rax
	.cfi_adjust_cfa_offset 8
	mov	%eax, %edi
	call	initsafe_vfork_parent
	add	$8, %rsp
	.cfi_adjust_cfa_offset -8
2:	ret
1:	neg	%eax
	mov	%eax, %edi
	jmp	initsafe_vfork_failed
	.cfi_endproc
	.size	vfork, .-vfork
	.size	__vfork, .-__vfork
	.hidden	initsafe_vfork_prepare
	.hidden	initsafe_vfork_parent
	.hidden	initsafe_vfork_failed
	.section .note.GNU-stack,"",@progbits
