;; An ABI 0.2.1 module shaped like a wasm32-unknown-unknown build: no WASI imports and `malloc`
;; instead of `proxy_on_memory_allocate` (the deprecated fallback a host must still use).
;; It exports `_initialize`, `main` and `_start`: a host runs `_initialize` then `main`, and not
;; `_start`. On configure it logs which start functions ran, reads its plugin configuration
;; (the host allocates through `malloc`) and logs it back, then whether `malloc` was used.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes"
    (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; 16: "starts: " then one letter per start function that ran (I, M, S).
  (data (i32.const 16) "starts: ")
  (data (i32.const 64) "malloc used")
  (data (i32.const 80) "malloc not used")
  (data (i32.const 112) "config read failed")
  (global $ran (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const 65536))
  (global $mallocs (mut i32) (i32.const 0))

  (func $mark (param $letter i32)
    (i32.store8 (i32.add (i32.const 24) (global.get $ran)) (local.get $letter))
    (global.set $ran (i32.add (global.get $ran) (i32.const 1))))

  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize") (call $mark (i32.const 73)))                      ;; 'I'
  (func (export "main") (param i32 i32) (result i32) (call $mark (i32.const 77)) ;; 'M'
    (i32.const 0))
  (func (export "_start") (call $mark (i32.const 83)))                           ;; 'S'

  (func (export "malloc") (param $size i32) (result i32)
    (local $at i32)
    (global.set $mallocs (i32.add (global.get $mallocs) (i32.const 1)))
    (local.set $at (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $at))

  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))

  (func (export "proxy_on_configure") (param $ctx i32) (param $size i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 16) (i32.add (i32.const 8) (global.get $ran))))
    ;; Returned pointer at 1024, length at 1028.
    (if (i32.ne (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size)
                                  (i32.const 1024) (i32.const 1028)) (i32.const 0))
      (then
        (drop (call $log (i32.const 4) (i32.const 112) (i32.const 18)))
        (return (i32.const 0))))
    (drop (call $log (i32.const 2) (i32.load (i32.const 1024)) (i32.load (i32.const 1028))))
    (if (i32.gt_u (global.get $mallocs) (i32.const 0))
      (then (drop (call $log (i32.const 2) (i32.const 64) (i32.const 11))))
      (else (drop (call $log (i32.const 2) (i32.const 80) (i32.const 15)))))
    (i32.const 1)))
