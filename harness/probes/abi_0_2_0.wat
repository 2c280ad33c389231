;; A minimal ABI 0.2.0 module: the 0.2.0 marker, `_start` as its only start function (a host
;; calls `_start` only when `_initialize` is absent), and `proxy_on_memory_allocate`.
;; It logs which start functions ran, and adds `x-abi: 0.2.0` to every request.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; 16: "starts: " then one letter per start function that ran (S = _start).
  (data (i32.const 16) "starts: ")
  (data (i32.const 64) "abi 0.2.0 request headers")
  (data (i32.const 96) "x-abi0.2.0")
  (global $ran (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const 65536))

  (func (export "proxy_abi_version_0_2_0"))

  (func (export "_start")
    (i32.store8 (i32.add (i32.const 24) (global.get $ran)) (i32.const 83)) ;; 'S'
    (global.set $ran (i32.add (global.get $ran) (i32.const 1))))

  ;; Bump allocator: the host's buffers are never freed in this short-lived module.
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $at))

  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))

  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 16) (i32.add (i32.const 8) (global.get $ran))))
    (i32.const 1))

  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 64) (i32.const 25)))
    (drop (call $add_header (i32.const 0) (i32.const 96) (i32.const 5) (i32.const 101) (i32.const 5)))
    (i32.const 0)))
