;; WebAssembly SIMD kernels of the parameter server's hot loops (loaded by kernels.ts, used
;; through arena.ts). Source of truth: kernels.wasm.ts holds this module compiled by
;; `npm run build:wasm` (wabt); test/core/simd.test.ts recompiles it and checks the bytes match.
;;
;; Every address is a byte offset into the imported memory (a MessageArena's). The mean sums in
;; float64 in the exact order of the JS loop in src/aggregators/mean.ts, per coordinate:
;;   acc = +0; acc += ((x0 + x1) + x2) + x3 for each group of four inputs; acc += x for each
;;   remaining input; acc *= 1/n.
;; (weighted: the four-term sum is ((w0 x0 + w1 x1) + w2 x2) + w3 x3 and there is no scale.)
;; wasm SIMD has no fused multiply-add, so each lane rounds exactly like the scalar JS code,
;; and the result is bitwise the same.
(module
  (import "env" "memory" (memory 1))

  ;; 1 when every float32 in [p, p + 4 len) is finite (exponent bits not all ones), else 0.
  ;; No early exit: a rejected message is rare and the branch would slow the common case.
  (func (export "finite_f32") (param $p i32) (param $len i32) (result i32)
    (local $end i32) (local $vend i32) (local $bad v128) (local $m v128)
    (local.set $m (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $len) (i32.const 2))))
    (local.set $vend
      (i32.add (local.get $p) (i32.shl (i32.and (local.get $len) (i32.const -16)) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $vend)))
        (local.set $bad
          (v128.or (local.get $bad)
            (v128.or
              (v128.or
                (i32x4.eq (v128.and (v128.load (local.get $p)) (local.get $m)) (local.get $m))
                (i32x4.eq (v128.and (v128.load offset=16 (local.get $p)) (local.get $m)) (local.get $m)))
              (v128.or
                (i32x4.eq (v128.and (v128.load offset=32 (local.get $p)) (local.get $m)) (local.get $m))
                (i32x4.eq (v128.and (v128.load offset=48 (local.get $p)) (local.get $m)) (local.get $m))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $l)))
    (block $done2
      (loop $l2
        (br_if $done2 (i32.ge_u (local.get $p) (local.get $end)))
        (if (i32.eq (i32.and (i32.load (local.get $p)) (i32.const 0x7f800000)) (i32.const 0x7f800000))
          (then (return (i32.const 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $l2)))
    (i32.eqz (v128.any_true (local.get $bad))))

  ;; The same for float64 in [p, p + 8 len).
  (func (export "finite_f64") (param $p i32) (param $len i32) (result i32)
    (local $end i32) (local $vend i32) (local $bad v128) (local $m v128)
    (local.set $m (v128.const i64x2 0x7ff0000000000000 0x7ff0000000000000))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $len) (i32.const 3))))
    (local.set $vend
      (i32.add (local.get $p) (i32.shl (i32.and (local.get $len) (i32.const -8)) (i32.const 3))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $vend)))
        (local.set $bad
          (v128.or (local.get $bad)
            (v128.or
              (v128.or
                (i64x2.eq (v128.and (v128.load (local.get $p)) (local.get $m)) (local.get $m))
                (i64x2.eq (v128.and (v128.load offset=16 (local.get $p)) (local.get $m)) (local.get $m)))
              (v128.or
                (i64x2.eq (v128.and (v128.load offset=32 (local.get $p)) (local.get $m)) (local.get $m))
                (i64x2.eq (v128.and (v128.load offset=48 (local.get $p)) (local.get $m)) (local.get $m))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $l)))
    (block $done2
      (loop $l2
        (br_if $done2 (i32.ge_u (local.get $p) (local.get $end)))
        (if (i64.eq (i64.and (i64.load (local.get $p)) (i64.const 0x7ff0000000000000))
              (i64.const 0x7ff0000000000000))
          (then (return (i32.const 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $l2)))
    (i32.eqz (v128.any_true (local.get $bad))))


  ;; ---- mean ------------------------------------------------------------------------------
  ;; A tile is up to 16 inputs (pointer table [t0, send), groups of four in [t0, gend), then
  ;; single inputs): few enough streams for the hardware prefetchers, while the accumulators
  ;; of 8 coordinates stay in registers across the whole tile. out holds the running sums
  ;; between tiles (first: start from +0 instead); each coordinate is multiplied by `scale`
  ;; at the end of a tile: 1/n after the last, else 1 (exact, so the bits do not change).
  ;; len is a multiple of 8; k is the byte offset of the first coordinate in every input.

  (func $tile_f32 (param $t0 i32) (param $gend i32) (param $send i32) (param $k i32) (param $len i32)
      (param $out i32) (param $first i32) (param $scale f64)
    (local $kend i32) (local $t i32) (local $p i32) (local $vs v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $pa i32) (local $pb i32) (local $pc i32) (local $pq i32)
    (local.set $vs (f64x2.splat (local.get $scale)))
    (local.set $kend (i32.add (local.get $k) (i32.shl (local.get $len) (i32.const 2))))
    (block $kd (loop $kl
      (br_if $kd (i32.ge_u (local.get $k) (local.get $kend)))
      (if (local.get $first)
        (then
          (local.set $a0 (v128.const i64x2 0 0))
          (local.set $a1 (v128.const i64x2 0 0))
          (local.set $a2 (v128.const i64x2 0 0))
          (local.set $a3 (v128.const i64x2 0 0)))
        (else
          (local.set $a0 (v128.load (local.get $out)))
          (local.set $a1 (v128.load offset=16 (local.get $out)))
          (local.set $a2 (v128.load offset=32 (local.get $out)))
          (local.set $a3 (v128.load offset=48 (local.get $out)))))
      (local.set $t (local.get $t0))
      (block $gd (loop $gl
        (br_if $gd (i32.ge_u (local.get $t) (local.get $gend)))
        (local.set $pa (i32.add (i32.load (local.get $t)) (local.get $k)))
        (local.set $pb (i32.add (i32.load offset=4 (local.get $t)) (local.get $k)))
        (local.set $pc (i32.add (i32.load offset=8 (local.get $t)) (local.get $k)))
        (local.set $pq (i32.add (i32.load offset=12 (local.get $t)) (local.get $k)))
        ;; promote_low widens two float32 lanes: load 8 bytes (2 floats) at a time.
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pb))))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pc))))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pq))))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pb))))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pc))))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pq))))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $pa)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $pb))))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $pc))))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $pq))))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $pa)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $pb))))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $pc))))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $pq))))))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (br $gl)))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $t) (local.get $send)))
        (local.set $p (i32.add (i32.load (local.get $t)) (local.get $k)))
        (local.set $a0
          (f64x2.add (local.get $a0) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p)))))
        (local.set $a1
          (f64x2.add (local.get $a1) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p)))))
        (local.set $a2
          (f64x2.add (local.get $a2) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p)))))
        (local.set $a3
          (f64x2.add (local.get $a3) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $p)))))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (br $sl)))
      (v128.store (local.get $out) (f64x2.mul (local.get $a0) (local.get $vs)))
      (v128.store offset=16 (local.get $out) (f64x2.mul (local.get $a1) (local.get $vs)))
      (v128.store offset=32 (local.get $out) (f64x2.mul (local.get $a2) (local.get $vs)))
      (v128.store offset=48 (local.get $out) (f64x2.mul (local.get $a3) (local.get $vs)))
      (local.set $out (i32.add (local.get $out) (i32.const 64)))
      (local.set $k (i32.add (local.get $k) (i32.const 32)))
      (br $kl))))

  ;; Weighted: weights are the f64s at w0, parallel to the pointers at t0; no scale.
  (func $tile_f32w (param $t0 i32) (param $gend i32) (param $send i32) (param $w0 i32) (param $k i32)
      (param $len i32) (param $out i32) (param $first i32)
    (local $kend i32) (local $t i32) (local $w i32) (local $p i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $pa i32) (local $pb i32) (local $pc i32) (local $pq i32)
    (local $wa v128) (local $wb v128) (local $wc v128) (local $wq v128)
    (local.set $kend (i32.add (local.get $k) (i32.shl (local.get $len) (i32.const 2))))
    (block $kd (loop $kl
      (br_if $kd (i32.ge_u (local.get $k) (local.get $kend)))
      (if (local.get $first)
        (then
          (local.set $a0 (v128.const i64x2 0 0))
          (local.set $a1 (v128.const i64x2 0 0))
          (local.set $a2 (v128.const i64x2 0 0))
          (local.set $a3 (v128.const i64x2 0 0)))
        (else
          (local.set $a0 (v128.load (local.get $out)))
          (local.set $a1 (v128.load offset=16 (local.get $out)))
          (local.set $a2 (v128.load offset=32 (local.get $out)))
          (local.set $a3 (v128.load offset=48 (local.get $out)))))
      (local.set $t (local.get $t0))
      (local.set $w (local.get $w0))
      (block $gd (loop $gl
        (br_if $gd (i32.ge_u (local.get $t) (local.get $gend)))
        (local.set $pa (i32.add (i32.load (local.get $t)) (local.get $k)))
        (local.set $pb (i32.add (i32.load offset=4 (local.get $t)) (local.get $k)))
        (local.set $pc (i32.add (i32.load offset=8 (local.get $t)) (local.get $k)))
        (local.set $pq (i32.add (i32.load offset=12 (local.get $t)) (local.get $k)))
        (local.set $wa (v128.load64_splat (local.get $w)))
        (local.set $wb (v128.load64_splat offset=8 (local.get $w)))
        (local.set $wc (v128.load64_splat offset=16 (local.get $w)))
        (local.set $wq (v128.load64_splat offset=24 (local.get $w)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.mul (local.get $wa) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa))))
          (f64x2.mul (local.get $wb) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pb)))))
          (f64x2.mul (local.get $wc) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pc)))))
          (f64x2.mul (local.get $wq) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pq)))))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.mul (local.get $wa) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa))))
          (f64x2.mul (local.get $wb) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pb)))))
          (f64x2.mul (local.get $wc) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pc)))))
          (f64x2.mul (local.get $wq) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pq)))))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.mul (local.get $wa) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $pa))))
          (f64x2.mul (local.get $wb) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $pb)))))
          (f64x2.mul (local.get $wc) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $pc)))))
          (f64x2.mul (local.get $wq) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $pq)))))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.mul (local.get $wa) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $pa))))
          (f64x2.mul (local.get $wb) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $pb)))))
          (f64x2.mul (local.get $wc) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $pc)))))
          (f64x2.mul (local.get $wq) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $pq)))))))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (local.set $w (i32.add (local.get $w) (i32.const 32)))
        (br $gl)))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $t) (local.get $send)))
        (local.set $p (i32.add (i32.load (local.get $t)) (local.get $k)))
        (local.set $wa (v128.load64_splat (local.get $w)))
        (local.set $a0 (f64x2.add (local.get $a0)
          (f64x2.mul (local.get $wa) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))))))
        (local.set $a1 (f64x2.add (local.get $a1)
          (f64x2.mul (local.get $wa) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p))))))
        (local.set $a2 (f64x2.add (local.get $a2)
          (f64x2.mul (local.get $wa) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p))))))
        (local.set $a3 (f64x2.add (local.get $a3)
          (f64x2.mul (local.get $wa) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $p))))))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (local.set $w (i32.add (local.get $w) (i32.const 8)))
        (br $sl)))
      (v128.store (local.get $out) (local.get $a0))
      (v128.store offset=16 (local.get $out) (local.get $a1))
      (v128.store offset=32 (local.get $out) (local.get $a2))
      (v128.store offset=48 (local.get $out) (local.get $a3))
      (local.set $out (i32.add (local.get $out) (i32.const 64)))
      (local.set $k (i32.add (local.get $k) (i32.const 32)))
      (br $kl))))

  (func $tile_f64 (param $t0 i32) (param $gend i32) (param $send i32) (param $k i32) (param $len i32)
      (param $out i32) (param $first i32) (param $scale f64)
    (local $kend i32) (local $t i32) (local $p i32) (local $vs v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $pa i32) (local $pb i32) (local $pc i32) (local $pq i32)
    (local.set $vs (f64x2.splat (local.get $scale)))
    (local.set $kend (i32.add (local.get $k) (i32.shl (local.get $len) (i32.const 3))))
    (block $kd (loop $kl
      (br_if $kd (i32.ge_u (local.get $k) (local.get $kend)))
      (if (local.get $first)
        (then
          (local.set $a0 (v128.const i64x2 0 0))
          (local.set $a1 (v128.const i64x2 0 0))
          (local.set $a2 (v128.const i64x2 0 0))
          (local.set $a3 (v128.const i64x2 0 0)))
        (else
          (local.set $a0 (v128.load (local.get $out)))
          (local.set $a1 (v128.load offset=16 (local.get $out)))
          (local.set $a2 (v128.load offset=32 (local.get $out)))
          (local.set $a3 (v128.load offset=48 (local.get $out)))))
      (local.set $t (local.get $t0))
      (block $gd (loop $gl
        (br_if $gd (i32.ge_u (local.get $t) (local.get $gend)))
        (local.set $pa (i32.add (i32.load (local.get $t)) (local.get $k)))
        (local.set $pb (i32.add (i32.load offset=4 (local.get $t)) (local.get $k)))
        (local.set $pc (i32.add (i32.load offset=8 (local.get $t)) (local.get $k)))
        (local.set $pq (i32.add (i32.load offset=12 (local.get $t)) (local.get $k)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.add (f64x2.add (f64x2.add
          (v128.load (local.get $pa)) (v128.load (local.get $pb)))
          (v128.load (local.get $pc))) (v128.load (local.get $pq)))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.add (f64x2.add (f64x2.add
          (v128.load offset=16 (local.get $pa)) (v128.load offset=16 (local.get $pb)))
          (v128.load offset=16 (local.get $pc))) (v128.load offset=16 (local.get $pq)))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.add (f64x2.add (f64x2.add
          (v128.load offset=32 (local.get $pa)) (v128.load offset=32 (local.get $pb)))
          (v128.load offset=32 (local.get $pc))) (v128.load offset=32 (local.get $pq)))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.add (f64x2.add (f64x2.add
          (v128.load offset=48 (local.get $pa)) (v128.load offset=48 (local.get $pb)))
          (v128.load offset=48 (local.get $pc))) (v128.load offset=48 (local.get $pq)))))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (br $gl)))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $t) (local.get $send)))
        (local.set $p (i32.add (i32.load (local.get $t)) (local.get $k)))
        (local.set $a0 (f64x2.add (local.get $a0) (v128.load (local.get $p))))
        (local.set $a1 (f64x2.add (local.get $a1) (v128.load offset=16 (local.get $p))))
        (local.set $a2 (f64x2.add (local.get $a2) (v128.load offset=32 (local.get $p))))
        (local.set $a3 (f64x2.add (local.get $a3) (v128.load offset=48 (local.get $p))))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (br $sl)))
      (v128.store (local.get $out) (f64x2.mul (local.get $a0) (local.get $vs)))
      (v128.store offset=16 (local.get $out) (f64x2.mul (local.get $a1) (local.get $vs)))
      (v128.store offset=32 (local.get $out) (f64x2.mul (local.get $a2) (local.get $vs)))
      (v128.store offset=48 (local.get $out) (f64x2.mul (local.get $a3) (local.get $vs)))
      (local.set $out (i32.add (local.get $out) (i32.const 64)))
      (local.set $k (i32.add (local.get $k) (i32.const 64)))
      (br $kl))))

  (func $tile_f64w (param $t0 i32) (param $gend i32) (param $send i32) (param $w0 i32) (param $k i32)
      (param $len i32) (param $out i32) (param $first i32)
    (local $kend i32) (local $t i32) (local $w i32) (local $p i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $pa i32) (local $pb i32) (local $pc i32) (local $pq i32)
    (local $wa v128) (local $wb v128) (local $wc v128) (local $wq v128)
    (local.set $kend (i32.add (local.get $k) (i32.shl (local.get $len) (i32.const 3))))
    (block $kd (loop $kl
      (br_if $kd (i32.ge_u (local.get $k) (local.get $kend)))
      (if (local.get $first)
        (then
          (local.set $a0 (v128.const i64x2 0 0))
          (local.set $a1 (v128.const i64x2 0 0))
          (local.set $a2 (v128.const i64x2 0 0))
          (local.set $a3 (v128.const i64x2 0 0)))
        (else
          (local.set $a0 (v128.load (local.get $out)))
          (local.set $a1 (v128.load offset=16 (local.get $out)))
          (local.set $a2 (v128.load offset=32 (local.get $out)))
          (local.set $a3 (v128.load offset=48 (local.get $out)))))
      (local.set $t (local.get $t0))
      (local.set $w (local.get $w0))
      (block $gd (loop $gl
        (br_if $gd (i32.ge_u (local.get $t) (local.get $gend)))
        (local.set $pa (i32.add (i32.load (local.get $t)) (local.get $k)))
        (local.set $pb (i32.add (i32.load offset=4 (local.get $t)) (local.get $k)))
        (local.set $pc (i32.add (i32.load offset=8 (local.get $t)) (local.get $k)))
        (local.set $pq (i32.add (i32.load offset=12 (local.get $t)) (local.get $k)))
        (local.set $wa (v128.load64_splat (local.get $w)))
        (local.set $wb (v128.load64_splat offset=8 (local.get $w)))
        (local.set $wc (v128.load64_splat offset=16 (local.get $w)))
        (local.set $wq (v128.load64_splat offset=24 (local.get $w)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.mul (local.get $wa) (v128.load (local.get $pa)))
          (f64x2.mul (local.get $wb) (v128.load (local.get $pb))))
          (f64x2.mul (local.get $wc) (v128.load (local.get $pc))))
          (f64x2.mul (local.get $wq) (v128.load (local.get $pq))))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.mul (local.get $wa) (v128.load offset=16 (local.get $pa)))
          (f64x2.mul (local.get $wb) (v128.load offset=16 (local.get $pb))))
          (f64x2.mul (local.get $wc) (v128.load offset=16 (local.get $pc))))
          (f64x2.mul (local.get $wq) (v128.load offset=16 (local.get $pq))))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.mul (local.get $wa) (v128.load offset=32 (local.get $pa)))
          (f64x2.mul (local.get $wb) (v128.load offset=32 (local.get $pb))))
          (f64x2.mul (local.get $wc) (v128.load offset=32 (local.get $pc))))
          (f64x2.mul (local.get $wq) (v128.load offset=32 (local.get $pq))))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.add (f64x2.add (f64x2.add
          (f64x2.mul (local.get $wa) (v128.load offset=48 (local.get $pa)))
          (f64x2.mul (local.get $wb) (v128.load offset=48 (local.get $pb))))
          (f64x2.mul (local.get $wc) (v128.load offset=48 (local.get $pc))))
          (f64x2.mul (local.get $wq) (v128.load offset=48 (local.get $pq))))))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (local.set $w (i32.add (local.get $w) (i32.const 32)))
        (br $gl)))
      (block $sd (loop $sl
        (br_if $sd (i32.ge_u (local.get $t) (local.get $send)))
        (local.set $p (i32.add (i32.load (local.get $t)) (local.get $k)))
        (local.set $wa (v128.load64_splat (local.get $w)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $wa) (v128.load (local.get $p)))))
        (local.set $a1
          (f64x2.add (local.get $a1) (f64x2.mul (local.get $wa) (v128.load offset=16 (local.get $p)))))
        (local.set $a2
          (f64x2.add (local.get $a2) (f64x2.mul (local.get $wa) (v128.load offset=32 (local.get $p)))))
        (local.set $a3
          (f64x2.add (local.get $a3) (f64x2.mul (local.get $wa) (v128.load offset=48 (local.get $p)))))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (local.set $w (i32.add (local.get $w) (i32.const 8)))
        (br $sl)))
      (v128.store (local.get $out) (local.get $a0))
      (v128.store offset=16 (local.get $out) (local.get $a1))
      (v128.store offset=32 (local.get $out) (local.get $a2))
      (v128.store offset=48 (local.get $out) (local.get $a3))
      (local.set $out (i32.add (local.get $out) (i32.const 64)))
      (local.set $k (i32.add (local.get $k) (i32.const 64)))
      (br $kl))))

  ;; out[0 .. len) = the mean of coordinates [k0, k0 + len) of the n inputs whose addresses are
  ;; the i32s at tab (len a multiple of 8; the caller does any remainder in JS). kind: 0 float32,
  ;; 1 float32 weighted by the f64s at wtab (no 1/n), 2 float64, 3 float64 weighted.
  (func (export "mean") (param $tab i32) (param $wtab i32) (param $n i32) (param $k0 i32) (param $len i32)
      (param $out i32) (param $inv f64) (param $kind i32)
    (local $i i32) (local $e i32) (local $g i32) (local $k i32) (local $t0 i32) (local $gend i32)
    (local $send i32) (local $w0 i32) (local $first i32) (local $last i32)
    (local.set $g (i32.and (local.get $n) (i32.const -4)))
    (local.set $k
      (i32.shl (local.get $k0) (select (i32.const 3) (i32.const 2) (i32.ge_u (local.get $kind) (i32.const 2)))))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      ;; Tiles of 16 inputs; the last takes the remaining groups and the single inputs.
      (local.set $e (i32.add (local.get $i) (i32.const 16)))
      (local.set $last (i32.ge_u (local.get $e) (local.get $g)))
      (if (local.get $last) (then (local.set $e (local.get $n))))
      (local.set $t0 (i32.add (local.get $tab) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $gend
        (i32.add (local.get $tab) (i32.shl (select (local.get $g) (local.get $e) (local.get $last)) (i32.const 2))))
      (local.set $send (i32.add (local.get $tab) (i32.shl (local.get $e) (i32.const 2))))
      (local.set $w0 (i32.add (local.get $wtab) (i32.shl (local.get $i) (i32.const 3))))
      (local.set $first (i32.eqz (local.get $i)))
      (block $kinds
        (if (i32.eqz (local.get $kind))
          (then
            (call $tile_f32 (local.get $t0) (local.get $gend) (local.get $send) (local.get $k) (local.get $len)
              (local.get $out) (local.get $first)
              (select (local.get $inv) (f64.const 1) (local.get $last)))
            (br $kinds)))
        (if (i32.eq (local.get $kind) (i32.const 1))
          (then
            (call $tile_f32w (local.get $t0) (local.get $gend) (local.get $send) (local.get $w0) (local.get $k)
              (local.get $len) (local.get $out) (local.get $first))
            (br $kinds)))
        (if (i32.eq (local.get $kind) (i32.const 2))
          (then
            (call $tile_f64 (local.get $t0) (local.get $gend) (local.get $send) (local.get $k) (local.get $len)
              (local.get $out) (local.get $first)
              (select (local.get $inv) (f64.const 1) (local.get $last)))
            (br $kinds)))
        (call $tile_f64w (local.get $t0) (local.get $gend) (local.get $send) (local.get $w0) (local.get $k)
          (local.get $len) (local.get $out) (local.get $first)))
      (local.set $i (local.get $e))
      (br $l))))

  ;; ---- MDS decode (src/schemes/mds/kernels.ts: projectRows, combineRows) ---------------------------
  ;; Messages are planar complex float64 rows: the real parts at [row, row + 8L), the imaginary
  ;; parts at [row + 8L, row + 16L) (byte addresses). Each f64x2 lane pair holds two consecutive
  ;; coordinates t, t + 1 (t even).

  ;; f[t] for the next bl values (a multiple of 4) of the projection stream into fbuf: four
  ;; xorshift128 generators, one per i32x4 lane (f[t] from lane t mod 4), whose state vectors
  ;; x, y, z, w (64 bytes at state) advance bl / 4 steps; f = w * 2^-32 - 0.5 (exact).
  (func $gen_f (param $state i32) (param $fbuf i32) (param $bl i32)
    (local $x v128) (local $y v128) (local $z v128) (local $w v128) (local $s v128) (local $c v128)
    (local $p i32) (local $pend i32)
    (local.set $x (v128.load (local.get $state)))
    (local.set $y (v128.load offset=16 (local.get $state)))
    (local.set $z (v128.load offset=32 (local.get $state)))
    (local.set $w (v128.load offset=48 (local.get $state)))
    (local.set $c (f64x2.splat (f64.const 0x1p-32)))
    (local.set $p (local.get $fbuf))
    (local.set $pend (i32.add (local.get $fbuf) (i32.shl (local.get $bl) (i32.const 3))))
    (block $fd (loop $fl
      (br_if $fd (i32.ge_u (local.get $p) (local.get $pend)))
      (local.set $s (v128.xor (local.get $x) (i32x4.shl (local.get $x) (i32.const 11))))
      (local.set $x (local.get $y))
      (local.set $y (local.get $z))
      (local.set $z (local.get $w))
      (local.set $w
        (v128.xor
          (v128.xor (local.get $w) (i32x4.shr_u (local.get $w) (i32.const 19)))
          (v128.xor (local.get $s) (i32x4.shr_u (local.get $s) (i32.const 8)))))
      (v128.store (local.get $p)
        (f64x2.sub (f64x2.mul (f64x2.convert_low_i32x4_u (local.get $w)) (local.get $c))
          (f64x2.splat (f64.const 0.5))))
      (v128.store offset=16 (local.get $p)
        (f64x2.sub
          (f64x2.mul
            (f64x2.convert_low_i32x4_u
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $w) (local.get $w)))
            (local.get $c))
          (f64x2.splat (f64.const 0.5))))
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (br $fl)))
    (v128.store (local.get $state) (local.get $x))
    (v128.store offset=16 (local.get $state) (local.get $y))
    (v128.store offset=32 (local.get $state) (local.get $z))
    (v128.store offset=48 (local.get $state) (local.get $w)))

  ;; Projection u_j = R_j f for rows in groups of four (pointer table at tab, 4 ng entries; the
  ;; caller pads the last group by repeating a row: its re-reads hit L1), over t in
  ;; [t0, t0 + len), t0 and len multiples of 4, with f the stream of mds/kernels.ts drawProjection: four
  ;; xorshift128 generators, one per i32x4 lane (f[t] from lane t mod 4), state vectors x, y, z, w
  ;; (64 bytes at state, at f[t0]; advanced by len / 4 steps), f = w * 2^-32 - 0.5 (exact). f is
  ;; generated in blocks of blk (a multiple of 4) values into fbuf, and every group reads the
  ;; block from L1. Per row, acc (32 bytes at acc + 32 row) holds [re even, re odd] and
  ;; [im even, im odd]: four partial sums, each over its t in increasing order, of x[t] * f[t]
  ;; (x[L + t] * f[t]), as the JS loop keeps them. The caller zeroes acc before t = 0, so that a
  ;; t range can be done in several calls (the decoder's fused pass, mds/decoder.ts projectAndCombine).
  (func (export "project") (param $tab i32) (param $ng i32) (param $L i32) (param $tstart i32)
      (param $len i32) (param $state i32) (param $fbuf i32) (param $acc i32) (param $blk i32)
    (local $t0 i32) (local $bl i32) (local $p i32) (local $pend i32) (local $im i32)
    (local $g i32) (local $ap i32) (local $tp i32)
    (local $ra i32) (local $rb i32) (local $rc i32) (local $rq i32)
    (local $f v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local.set $im (i32.shl (local.get $L) (i32.const 3)))
    (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $t0) (local.get $len)))
      (local.set $bl (i32.sub (local.get $len) (local.get $t0)))
      (if (i32.gt_u (local.get $bl) (local.get $blk)) (then (local.set $bl (local.get $blk))))
      ;; f[t0 .. t0 + bl)
      (call $gen_f (local.get $state) (local.get $fbuf) (local.get $bl))
      (local.set $pend (i32.add (local.get $fbuf) (i32.shl (local.get $bl) (i32.const 3))))
      ;; Every group of four rows over the block.
      (local.set $g (i32.const 0))
      (block $gd (loop $gl
        (br_if $gd (i32.ge_u (local.get $g) (local.get $ng)))
        (local.set $ap (i32.add (local.get $acc) (i32.shl (local.get $g) (i32.const 7))))
        (local.set $tp (i32.add (local.get $tab) (i32.shl (local.get $g) (i32.const 4))))
        (local.set $ra (i32.add (i32.load (local.get $tp)) (i32.shl (i32.add (local.get $tstart) (local.get $t0)) (i32.const 3))))
        (local.set $rb (i32.add (i32.load offset=4 (local.get $tp)) (i32.shl (i32.add (local.get $tstart) (local.get $t0)) (i32.const 3))))
        (local.set $rc (i32.add (i32.load offset=8 (local.get $tp)) (i32.shl (i32.add (local.get $tstart) (local.get $t0)) (i32.const 3))))
        (local.set $rq (i32.add (i32.load offset=12 (local.get $tp)) (i32.shl (i32.add (local.get $tstart) (local.get $t0)) (i32.const 3))))
        (local.set $a0 (v128.load (local.get $ap)))
        (local.set $a1 (v128.load offset=16 (local.get $ap)))
        (local.set $a2 (v128.load offset=32 (local.get $ap)))
        (local.set $a3 (v128.load offset=48 (local.get $ap)))
        (local.set $a4 (v128.load offset=64 (local.get $ap)))
        (local.set $a5 (v128.load offset=80 (local.get $ap)))
        (local.set $a6 (v128.load offset=96 (local.get $ap)))
        (local.set $a7 (v128.load offset=112 (local.get $ap)))
        (local.set $p (local.get $fbuf))
        (block $td (loop $tl
          (br_if $td (i32.ge_u (local.get $p) (local.get $pend)))
          (local.set $f (v128.load (local.get $p)))
          (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (v128.load (local.get $ra)) (local.get $f))))
          (local.set $a1 (f64x2.add (local.get $a1)
            (f64x2.mul (v128.load (i32.add (local.get $ra) (local.get $im))) (local.get $f))))
          (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (v128.load (local.get $rb)) (local.get $f))))
          (local.set $a3 (f64x2.add (local.get $a3)
            (f64x2.mul (v128.load (i32.add (local.get $rb) (local.get $im))) (local.get $f))))
          (local.set $a4 (f64x2.add (local.get $a4) (f64x2.mul (v128.load (local.get $rc)) (local.get $f))))
          (local.set $a5 (f64x2.add (local.get $a5)
            (f64x2.mul (v128.load (i32.add (local.get $rc) (local.get $im))) (local.get $f))))
          (local.set $a6 (f64x2.add (local.get $a6) (f64x2.mul (v128.load (local.get $rq)) (local.get $f))))
          (local.set $a7 (f64x2.add (local.get $a7)
            (f64x2.mul (v128.load (i32.add (local.get $rq) (local.get $im))) (local.get $f))))
          (local.set $ra (i32.add (local.get $ra) (i32.const 16)))
          (local.set $rb (i32.add (local.get $rb) (i32.const 16)))
          (local.set $rc (i32.add (local.get $rc) (i32.const 16)))
          (local.set $rq (i32.add (local.get $rq) (i32.const 16)))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $tl)))
        (v128.store (local.get $ap) (local.get $a0))
        (v128.store offset=16 (local.get $ap) (local.get $a1))
        (v128.store offset=32 (local.get $ap) (local.get $a2))
        (v128.store offset=48 (local.get $ap) (local.get $a3))
        (v128.store offset=64 (local.get $ap) (local.get $a4))
        (v128.store offset=80 (local.get $ap) (local.get $a5))
        (v128.store offset=96 (local.get $ap) (local.get $a6))
        (v128.store offset=112 (local.get $ap) (local.get $a7))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $gl)))
      (local.set $t0 (i32.add (local.get $t0) (local.get $bl)))
      (br $blocks))))

  ;; The projection and the combination in one pass over t in [t0, t0 + bl) (t0, bl multiples of
  ;; 4), for the decoder's speculation (mds/decoder.ts projectAndCombine): f[t0 .. t0 + bl) is generated
  ;; into fbuf from the stream state at `state` (as `project`), then the nk rows at ktab are read
  ;; ONCE, each pair loaded into registers for both its projection and its combination, and the nx
  ;; rows at xtab (the rows the combination leaves out) are projected alone. Table entries are 8
  ;; bytes: [row address, address of the row's 32-byte partial sums], the sums as `project` keeps
  ;; them (added to: the caller zeroes them before t = 0). Weights and output as `combine` with
  ;; n = nk (set b's real parts at out + 16 b bl, imaginary 8 bl further), in exactly its order;
  ;; sets after the first re-read the pair's block from L1. The loops for those sets are copies of
  ;; `combine`'s: as shared functions (V8 does not inline them) both kernels ran 12-14% slower
  ;; (measured in one process, alternating, in L1).
  (func (export "project_combine") (param $ktab i32) (param $nk i32) (param $xtab i32) (param $nx i32)
      (param $wtab i32) (param $nb i32) (param $L i32) (param $t0 i32) (param $bl i32) (param $state i32)
      (param $fbuf i32) (param $out i32)
    (local $im i32) (local $k0 i32) (local $g i32) (local $i i32) (local $e i32)
    (local $ra i32) (local $rb i32) (local $aa i32) (local $ab i32) (local $pa i32) (local $pb i32)
    (local $p i32) (local $fend i32) (local $o i32) (local $oend i32) (local $ob i32) (local $w i32)
    (local $b i32) (local $sstride i32) (local $wstride i32) (local $ioff i32)
    (local $fv v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $p0 v128) (local $q0 v128) (local $p1 v128) (local $q1 v128)
    (local.set $im (i32.shl (local.get $L) (i32.const 3)))
    (local.set $k0 (i32.shl (local.get $t0) (i32.const 3)))
    (local.set $ioff (i32.shl (local.get $bl) (i32.const 3)))
    (local.set $sstride (i32.shl (local.get $bl) (i32.const 4)))
    (local.set $wstride (i32.shl (local.get $nk) (i32.const 4)))
    (call $gen_f (local.get $state) (local.get $fbuf) (local.get $bl))
    (local.set $fend (i32.add (local.get $fbuf) (local.get $ioff)))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $nb) (local.get $sstride)))
    (local.set $g (i32.and (local.get $nk) (i32.const -2)))
    ;; Pairs of combined rows.
    (block $gd (loop $gl
      (br_if $gd (i32.ge_u (local.get $i) (local.get $g)))
      (local.set $e (i32.add (local.get $ktab) (i32.shl (local.get $i) (i32.const 3))))
      (local.set $ra (i32.add (i32.load (local.get $e)) (local.get $k0)))
      (local.set $aa (i32.load offset=4 (local.get $e)))
      (local.set $rb (i32.add (i32.load offset=8 (local.get $e)) (local.get $k0)))
      (local.set $ab (i32.load offset=12 (local.get $e)))
      (local.set $w (i32.add (local.get $wtab) (i32.shl (local.get $i) (i32.const 4))))
      (local.set $h0 (v128.load64_splat (local.get $w)))
      (local.set $h1 (v128.load64_splat offset=8 (local.get $w)))
      (local.set $h2 (v128.load64_splat offset=16 (local.get $w)))
      (local.set $h3 (v128.load64_splat offset=24 (local.get $w)))
      (local.set $a0 (v128.load (local.get $aa)))
      (local.set $a1 (v128.load offset=16 (local.get $aa)))
      (local.set $a2 (v128.load (local.get $ab)))
      (local.set $a3 (v128.load offset=16 (local.get $ab)))
      (local.set $pa (local.get $ra))
      (local.set $pb (local.get $rb))
      (local.set $o (local.get $out))
      (local.set $p (local.get $fbuf))
      (block $td (loop $tl
        (br_if $td (i32.ge_u (local.get $p) (local.get $fend)))
        (local.set $fv (v128.load (local.get $p)))
        (local.set $p0 (v128.load (local.get $pa)))
        (local.set $q0 (v128.load (i32.add (local.get $pa) (local.get $im))))
        (local.set $p1 (v128.load (local.get $pb)))
        (local.set $q1 (v128.load (i32.add (local.get $pb) (local.get $im))))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $p0) (local.get $fv))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $q0) (local.get $fv))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $p1) (local.get $fv))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $q1) (local.get $fv))))
        (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o))
          (f64x2.sub (f64x2.add (f64x2.sub
            (f64x2.mul (local.get $h0) (local.get $p0))
            (f64x2.mul (local.get $h1) (local.get $q0)))
            (f64x2.mul (local.get $h2) (local.get $p1)))
            (f64x2.mul (local.get $h3) (local.get $q1)))))
        (v128.store (i32.add (local.get $o) (local.get $ioff))
          (f64x2.add (v128.load (i32.add (local.get $o) (local.get $ioff)))
          (f64x2.add (f64x2.add (f64x2.add
            (f64x2.mul (local.get $h0) (local.get $q0))
            (f64x2.mul (local.get $h1) (local.get $p0)))
            (f64x2.mul (local.get $h2) (local.get $q1)))
            (f64x2.mul (local.get $h3) (local.get $p1)))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $tl)))
      (v128.store (local.get $aa) (local.get $a0))
      (v128.store offset=16 (local.get $aa) (local.get $a1))
      (v128.store (local.get $ab) (local.get $a2))
      (v128.store offset=16 (local.get $ab) (local.get $a3))
      ;; The other weight sets: the pair's block is in L1.
      (local.set $ob (local.get $out))
      (local.set $b (i32.const 1))
      (block $sd (loop $sets
        (br_if $sd (i32.ge_u (local.get $b) (local.get $nb)))
        (local.set $w (i32.add (local.get $w) (local.get $wstride)))
        (local.set $ob (i32.add (local.get $ob) (local.get $sstride)))
        (local.set $h0 (v128.load64_splat (local.get $w)))
        (local.set $h1 (v128.load64_splat offset=8 (local.get $w)))
        (local.set $h2 (v128.load64_splat offset=16 (local.get $w)))
        (local.set $h3 (v128.load64_splat offset=24 (local.get $w)))
        (local.set $pa (local.get $ra))
        (local.set $pb (local.get $rb))
        (local.set $o (local.get $ob))
        (local.set $oend (i32.add (local.get $ob) (local.get $ioff)))
        (block $td (loop $tl
          (br_if $td (i32.ge_u (local.get $o) (local.get $oend)))
          (local.set $p0 (v128.load (local.get $pa)))
          (local.set $q0 (v128.load (i32.add (local.get $pa) (local.get $im))))
          (local.set $p1 (v128.load (local.get $pb)))
          (local.set $q1 (v128.load (i32.add (local.get $pb) (local.get $im))))
          (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o))
            (f64x2.sub (f64x2.add (f64x2.sub
              (f64x2.mul (local.get $h0) (local.get $p0))
              (f64x2.mul (local.get $h1) (local.get $q0)))
              (f64x2.mul (local.get $h2) (local.get $p1)))
              (f64x2.mul (local.get $h3) (local.get $q1)))))
          (v128.store (i32.add (local.get $o) (local.get $ioff))
            (f64x2.add (v128.load (i32.add (local.get $o) (local.get $ioff)))
            (f64x2.add (f64x2.add (f64x2.add
              (f64x2.mul (local.get $h0) (local.get $q0))
              (f64x2.mul (local.get $h1) (local.get $p0)))
              (f64x2.mul (local.get $h2) (local.get $q1)))
              (f64x2.mul (local.get $h3) (local.get $p1)))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $tl)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $sets)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $gl)))
    ;; An odd last combined row.
    (if (i32.lt_u (local.get $i) (local.get $nk)) (then
      (local.set $e (i32.add (local.get $ktab) (i32.shl (local.get $i) (i32.const 3))))
      (local.set $ra (i32.add (i32.load (local.get $e)) (local.get $k0)))
      (local.set $aa (i32.load offset=4 (local.get $e)))
      (local.set $w (i32.add (local.get $wtab) (i32.shl (local.get $i) (i32.const 4))))
      (local.set $h0 (v128.load64_splat (local.get $w)))
      (local.set $h1 (v128.load64_splat offset=8 (local.get $w)))
      (local.set $a0 (v128.load (local.get $aa)))
      (local.set $a1 (v128.load offset=16 (local.get $aa)))
      (local.set $pa (local.get $ra))
      (local.set $o (local.get $out))
      (local.set $p (local.get $fbuf))
      (block $td (loop $tl
        (br_if $td (i32.ge_u (local.get $p) (local.get $fend)))
        (local.set $fv (v128.load (local.get $p)))
        (local.set $p0 (v128.load (local.get $pa)))
        (local.set $q0 (v128.load (i32.add (local.get $pa) (local.get $im))))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $p0) (local.get $fv))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $q0) (local.get $fv))))
        (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o))
          (f64x2.sub (f64x2.mul (local.get $h0) (local.get $p0)) (f64x2.mul (local.get $h1) (local.get $q0)))))
        (v128.store (i32.add (local.get $o) (local.get $ioff))
          (f64x2.add (v128.load (i32.add (local.get $o) (local.get $ioff)))
            (f64x2.add (f64x2.mul (local.get $h0) (local.get $q0)) (f64x2.mul (local.get $h1) (local.get $p0)))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $tl)))
      (v128.store (local.get $aa) (local.get $a0))
      (v128.store offset=16 (local.get $aa) (local.get $a1))
      (local.set $ob (local.get $out))
      (local.set $b (i32.const 1))
      (block $sd (loop $sets
        (br_if $sd (i32.ge_u (local.get $b) (local.get $nb)))
        (local.set $w (i32.add (local.get $w) (local.get $wstride)))
        (local.set $ob (i32.add (local.get $ob) (local.get $sstride)))
        (local.set $h0 (v128.load64_splat (local.get $w)))
        (local.set $h1 (v128.load64_splat offset=8 (local.get $w)))
        (local.set $pa (local.get $ra))
        (local.set $o (local.get $ob))
        (local.set $oend (i32.add (local.get $ob) (local.get $ioff)))
        (block $td (loop $tl
          (br_if $td (i32.ge_u (local.get $o) (local.get $oend)))
          (local.set $p0 (v128.load (local.get $pa)))
          (local.set $q0 (v128.load (i32.add (local.get $pa) (local.get $im))))
          (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o))
            (f64x2.sub (f64x2.mul (local.get $h0) (local.get $p0)) (f64x2.mul (local.get $h1) (local.get $q0)))))
          (v128.store (i32.add (local.get $o) (local.get $ioff))
            (f64x2.add (v128.load (i32.add (local.get $o) (local.get $ioff)))
              (f64x2.add (f64x2.mul (local.get $h0) (local.get $q0)) (f64x2.mul (local.get $h1) (local.get $p0)))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $tl)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $sets)))))
    ;; The rows left out of the combination: projection only.
    (local.set $i (i32.const 0))
    (block $xd (loop $xl
      (br_if $xd (i32.ge_u (local.get $i) (local.get $nx)))
      (local.set $e (i32.add (local.get $xtab) (i32.shl (local.get $i) (i32.const 3))))
      (local.set $pa (i32.add (i32.load (local.get $e)) (local.get $k0)))
      (local.set $aa (i32.load offset=4 (local.get $e)))
      (local.set $a0 (v128.load (local.get $aa)))
      (local.set $a1 (v128.load offset=16 (local.get $aa)))
      (local.set $p (local.get $fbuf))
      (block $td (loop $tl
        (br_if $td (i32.ge_u (local.get $p) (local.get $fend)))
        (local.set $fv (v128.load (local.get $p)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (v128.load (local.get $pa)) (local.get $fv))))
        (local.set $a1 (f64x2.add (local.get $a1)
          (f64x2.mul (v128.load (i32.add (local.get $pa) (local.get $im))) (local.get $fv))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $tl)))
      (v128.store (local.get $aa) (local.get $a0))
      (v128.store offset=16 (local.get $aa) (local.get $a1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $xl))))

  ;; Combination over t in [t0, t0 + bl), bl even: for each of nb weight sets b, with the complex
  ;; weights (a_j, b_j) of row j at wtab + 16 (b n + j), the sums
  ;;   re[t] = sum_j a_j x_j[t] - b_j x_j[L + t],  im[t] = sum_j a_j x_j[L + t] + b_j x_j[t]
  ;; into out: set b's real parts at out + 16 b bl, its imaginary parts 8 bl further. Exactly the
  ;; JS loop's order: from +0, per pair of rows acc += ((a0 p0 - b0 q0) + a1 p1) - b1 q1 (and
  ;; ((a0 q0 + b0 p0) + a1 q1) + b1 p1), then for an odd last row acc += a p - b q (a q + b p).
  ;; Pairs, not fours: four rows' eight weight splats and eight inputs spilled out of the 16 SIMD
  ;; registers and the loop ran at 2.3 values/ns against 3.4 for pairs (measured in L1/L2).
  ;; Per pair and set the four weights are splatted once into locals; the sets after the first
  ;; re-read the pair's block from L2; the output block stays in L1.
  (func (export "combine") (param $tab i32) (param $wtab i32) (param $n i32) (param $nb i32)
      (param $L i32) (param $t0 i32) (param $bl i32) (param $out i32)
    (local $im i32) (local $k0 i32) (local $g i32) (local $i i32) (local $tp i32)
    (local $ra i32) (local $rb i32) (local $pa i32) (local $pb i32)
    (local $o i32) (local $oend i32) (local $ob i32) (local $w i32) (local $b i32)
    (local $sstride i32) (local $wstride i32) (local $ioff i32)
    (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $p0 v128) (local $q0 v128) (local $p1 v128) (local $q1 v128)
    (local.set $im (i32.shl (local.get $L) (i32.const 3)))
    (local.set $k0 (i32.shl (local.get $t0) (i32.const 3)))
    (local.set $ioff (i32.shl (local.get $bl) (i32.const 3)))
    (local.set $sstride (i32.shl (local.get $bl) (i32.const 4)))
    (local.set $wstride (i32.shl (local.get $n) (i32.const 4)))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $nb) (local.get $sstride)))
    (local.set $g (i32.and (local.get $n) (i32.const -2)))
    ;; Pairs of rows.
    (block $gd (loop $gl
      (br_if $gd (i32.ge_u (local.get $i) (local.get $g)))
      (local.set $tp (i32.add (local.get $tab) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $ra (i32.add (i32.load (local.get $tp)) (local.get $k0)))
      (local.set $rb (i32.add (i32.load offset=4 (local.get $tp)) (local.get $k0)))
      (local.set $w (i32.add (local.get $wtab) (i32.shl (local.get $i) (i32.const 4))))
      (local.set $ob (local.get $out))
      (local.set $b (i32.const 0))
      (loop $sets
        (local.set $h0 (v128.load64_splat (local.get $w)))
        (local.set $h1 (v128.load64_splat offset=8 (local.get $w)))
        (local.set $h2 (v128.load64_splat offset=16 (local.get $w)))
        (local.set $h3 (v128.load64_splat offset=24 (local.get $w)))
        (local.set $pa (local.get $ra))
        (local.set $pb (local.get $rb))
        (local.set $o (local.get $ob))
        (local.set $oend (i32.add (local.get $ob) (local.get $ioff)))
        (block $td (loop $tl
          (br_if $td (i32.ge_u (local.get $o) (local.get $oend)))
          (local.set $p0 (v128.load (local.get $pa)))
          (local.set $q0 (v128.load (i32.add (local.get $pa) (local.get $im))))
          (local.set $p1 (v128.load (local.get $pb)))
          (local.set $q1 (v128.load (i32.add (local.get $pb) (local.get $im))))
          (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o))
            (f64x2.sub (f64x2.add (f64x2.sub
              (f64x2.mul (local.get $h0) (local.get $p0))
              (f64x2.mul (local.get $h1) (local.get $q0)))
              (f64x2.mul (local.get $h2) (local.get $p1)))
              (f64x2.mul (local.get $h3) (local.get $q1)))))
          (v128.store (i32.add (local.get $o) (local.get $ioff))
            (f64x2.add (v128.load (i32.add (local.get $o) (local.get $ioff)))
            (f64x2.add (f64x2.add (f64x2.add
              (f64x2.mul (local.get $h0) (local.get $q0))
              (f64x2.mul (local.get $h1) (local.get $p0)))
              (f64x2.mul (local.get $h2) (local.get $q1)))
              (f64x2.mul (local.get $h3) (local.get $p1)))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $tl)))
        (local.set $ob (i32.add (local.get $ob) (local.get $sstride)))
        (local.set $w (i32.add (local.get $w) (local.get $wstride)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br_if $sets (i32.lt_u (local.get $b) (local.get $nb))))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $gl)))
    ;; An odd last row.
    (if (i32.lt_u (local.get $i) (local.get $n)) (then
      (local.set $ra (i32.add (i32.load (i32.add (local.get $tab) (i32.shl (local.get $i) (i32.const 2))))
        (local.get $k0)))
      (local.set $w (i32.add (local.get $wtab) (i32.shl (local.get $i) (i32.const 4))))
      (local.set $ob (local.get $out))
      (local.set $b (i32.const 0))
      (loop $sets
        (local.set $h0 (v128.load64_splat (local.get $w)))
        (local.set $h1 (v128.load64_splat offset=8 (local.get $w)))
        (local.set $pa (local.get $ra))
        (local.set $o (local.get $ob))
        (local.set $oend (i32.add (local.get $ob) (local.get $ioff)))
        (block $td (loop $tl
          (br_if $td (i32.ge_u (local.get $o) (local.get $oend)))
          (local.set $p0 (v128.load (local.get $pa)))
          (local.set $q0 (v128.load (i32.add (local.get $pa) (local.get $im))))
          (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o))
            (f64x2.sub (f64x2.mul (local.get $h0) (local.get $p0)) (f64x2.mul (local.get $h1) (local.get $q0)))))
          (v128.store (i32.add (local.get $o) (local.get $ioff))
            (f64x2.add (v128.load (i32.add (local.get $o) (local.get $ioff)))
              (f64x2.add (f64x2.mul (local.get $h0) (local.get $q0)) (f64x2.mul (local.get $h1) (local.get $p0)))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $tl)))
        (local.set $ob (i32.add (local.get $ob) (local.get $sstride)))
        (local.set $w (i32.add (local.get $w) (local.get $wstride)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br_if $sets (i32.lt_u (local.get $b) (local.get $nb)))))))
;; ---- Pairwise squared distances (src/core/simd/distances.ts, aggregators/distances.ts) ---------
  ;; T is a chunk of the inputs transposed to float64: T[k np + j] = x_j[k] for the chunk's k,
  ;; np = n + 1 columns, column n all zero (so ||x_i||^2 is the "distance" from column n). A v128
  ;; holds two partners j, j + 1 of one row; each lane keeps its own sum over k in increasing
  ;; order: the order of the JS loop's per-pair accumulators, each term (x - y)^2 rounded as JS
  ;; rounds it (no fused multiply-add), so the sums are bitwise the JS loop's.

  ;; T[k np + j] = row j's element k0 + k for k in [0, len), j in [0, n), the row at the address
  ;; at tab + 4 j (kind 0 float32, promoted exactly; 2 float64); T[k np + n] = 0.
  (func (export "dist_pack") (param $tab i32) (param $n i32) (param $k0 i32) (param $len i32)
      (param $kind i32) (param $T i32)
    (local $j i32) (local $src i32) (local $dst i32) (local $end i32) (local $stride i32)
    (local.set $stride (i32.shl (i32.add (local.get $n) (i32.const 1)) (i32.const 3)))
    (block $jd (loop $jl
      (br_if $jd (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $dst (i32.add (local.get $T) (i32.shl (local.get $j) (i32.const 3))))
      (local.set $src (i32.load (i32.add (local.get $tab) (i32.shl (local.get $j) (i32.const 2)))))
      (if (local.get $kind)
        (then
          (local.set $src (i32.add (local.get $src) (i32.shl (local.get $k0) (i32.const 3))))
          (local.set $end (i32.add (local.get $src) (i32.shl (local.get $len) (i32.const 3))))
          (block $d (loop $l
            (br_if $d (i32.ge_u (local.get $src) (local.get $end)))
            (f64.store (local.get $dst) (f64.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (i32.const 8)))
            (local.set $dst (i32.add (local.get $dst) (local.get $stride)))
            (br $l))))
        (else
          (local.set $src (i32.add (local.get $src) (i32.shl (local.get $k0) (i32.const 2))))
          (local.set $end (i32.add (local.get $src) (i32.shl (local.get $len) (i32.const 2))))
          (block $d (loop $l
            (br_if $d (i32.ge_u (local.get $src) (local.get $end)))
            (f64.store (local.get $dst) (f64.promote_f32 (f32.load (local.get $src))))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (local.set $dst (i32.add (local.get $dst) (local.get $stride)))
            (br $l)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $jl)))
    (local.set $dst (i32.add (local.get $T) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $end (i32.add (local.get $dst) (i32.mul (local.get $len) (local.get $stride))))
    (block $zd (loop $zl
      (br_if $zd (i32.ge_u (local.get $dst) (local.get $end)))
      (f64.store (local.get $dst) (f64.const 0))
      (local.set $dst (i32.add (local.get $dst) (local.get $stride)))
      (br $zl))))

  ;; acc[c] += (T[k np + xcol] - T[k np + j0 + c])^2 for k = 0, 1, .., len - 1 in turn, for c in
  ;; [0, cnt). Eight partners per sweep share x; an odd last one is summed in scalar float64.
  (func (export "dist_seq") (param $T i32) (param $np i32) (param $len i32) (param $xcol i32)
      (param $j0 i32) (param $cnt i32) (param $acc i32)
    (local $stride i32) (local $xp i32) (local $vp i32) (local $end i32) (local $c i32) (local $ap i32)
    (local $s f64) (local $u f64) (local $x v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $stride (i32.shl (local.get $np) (i32.const 3)))
    (block $cd (loop $cl
      (br_if $cd (i32.gt_u (i32.add (local.get $c) (i32.const 8)) (local.get $cnt)))
      (local.set $ap (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
      (local.set $a0 (v128.load (local.get $ap)))
      (local.set $a1 (v128.load offset=16 (local.get $ap)))
      (local.set $a2 (v128.load offset=32 (local.get $ap)))
      (local.set $a3 (v128.load offset=48 (local.get $ap)))
      (local.set $xp (i32.add (local.get $T) (i32.shl (local.get $xcol) (i32.const 3))))
      (local.set $vp
        (i32.add (local.get $T) (i32.shl (i32.add (local.get $j0) (local.get $c)) (i32.const 3))))
      (local.set $end (i32.add (local.get $xp) (i32.mul (local.get $len) (local.get $stride))))
      (block $kd (loop $kl
        (br_if $kd (i32.ge_u (local.get $xp) (local.get $end)))
        (local.set $x (v128.load64_splat (local.get $xp)))
        (local.set $t0 (f64x2.sub (local.get $x) (v128.load (local.get $vp))))
        (local.set $t1 (f64x2.sub (local.get $x) (v128.load offset=16 (local.get $vp))))
        (local.set $t2 (f64x2.sub (local.get $x) (v128.load offset=32 (local.get $vp))))
        (local.set $t3 (f64x2.sub (local.get $x) (v128.load offset=48 (local.get $vp))))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $t0) (local.get $t0))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $t1) (local.get $t1))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $t2) (local.get $t2))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $t3) (local.get $t3))))
        (local.set $xp (i32.add (local.get $xp) (local.get $stride)))
        (local.set $vp (i32.add (local.get $vp) (local.get $stride)))
        (br $kl)))
      (v128.store (local.get $ap) (local.get $a0))
      (v128.store offset=16 (local.get $ap) (local.get $a1))
      (v128.store offset=32 (local.get $ap) (local.get $a2))
      (v128.store offset=48 (local.get $ap) (local.get $a3))
      (local.set $c (i32.add (local.get $c) (i32.const 8)))
      (br $cl)))
    (block $pd (loop $pl
      (br_if $pd (i32.ge_u (i32.add (local.get $c) (i32.const 1)) (local.get $cnt)))
      (local.set $ap (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
      (local.set $a0 (v128.load (local.get $ap)))
      (local.set $xp (i32.add (local.get $T) (i32.shl (local.get $xcol) (i32.const 3))))
      (local.set $vp
        (i32.add (local.get $T) (i32.shl (i32.add (local.get $j0) (local.get $c)) (i32.const 3))))
      (local.set $end (i32.add (local.get $xp) (i32.mul (local.get $len) (local.get $stride))))
      (block $kd (loop $kl
        (br_if $kd (i32.ge_u (local.get $xp) (local.get $end)))
        (local.set $t0 (f64x2.sub (v128.load64_splat (local.get $xp)) (v128.load (local.get $vp))))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $t0) (local.get $t0))))
        (local.set $xp (i32.add (local.get $xp) (local.get $stride)))
        (local.set $vp (i32.add (local.get $vp) (local.get $stride)))
        (br $kl)))
      (v128.store (local.get $ap) (local.get $a0))
      (local.set $c (i32.add (local.get $c) (i32.const 2)))
      (br $pl)))
    ;; An odd last partner in scalar float64 (rounds as a lane does).
    (if (i32.lt_u (local.get $c) (local.get $cnt))
      (then
        (local.set $ap (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
        (local.set $s (f64.load (local.get $ap)))
        (local.set $xp (i32.add (local.get $T) (i32.shl (local.get $xcol) (i32.const 3))))
        (local.set $vp
          (i32.add (local.get $T) (i32.shl (i32.add (local.get $j0) (local.get $c)) (i32.const 3))))
        (local.set $end (i32.add (local.get $xp) (i32.mul (local.get $len) (local.get $stride))))
        (block $kd (loop $kl
          (br_if $kd (i32.ge_u (local.get $xp) (local.get $end)))
          (local.set $u (f64.sub (f64.load (local.get $xp)) (f64.load (local.get $vp))))
          (local.set $s (f64.add (local.get $s) (f64.mul (local.get $u) (local.get $u))))
          (local.set $xp (i32.add (local.get $xp) (local.get $stride)))
          (local.set $vp (i32.add (local.get $vp) (local.get $stride)))
          (br $kl)))
        (f64.store (local.get $ap) (local.get $s)))))

  ;; dist_seq for two rows at once (x0col, x1col; sums at acc0, acc1) over the same cnt partners,
  ;; cnt a multiple of 8: each partner's values are loaded once for both rows.
  (func (export "dist_seq2") (param $T i32) (param $np i32) (param $len i32) (param $x0col i32)
      (param $x1col i32) (param $j0 i32) (param $cnt i32) (param $acc0 i32) (param $acc1 i32)
    (local $stride i32) (local $xp i32) (local $dx i32) (local $vp i32) (local $end i32) (local $c i32)
    (local $p0 i32) (local $p1 i32)
    (local $x v128) (local $y v128) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $t v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local.set $stride (i32.shl (local.get $np) (i32.const 3)))
    (local.set $dx (i32.shl (i32.sub (local.get $x1col) (local.get $x0col)) (i32.const 3)))
    (block $cd (loop $cl
      (br_if $cd (i32.gt_u (i32.add (local.get $c) (i32.const 8)) (local.get $cnt)))
      (local.set $p0 (i32.add (local.get $acc0) (i32.shl (local.get $c) (i32.const 3))))
      (local.set $p1 (i32.add (local.get $acc1) (i32.shl (local.get $c) (i32.const 3))))
      (local.set $a0 (v128.load (local.get $p0)))
      (local.set $a1 (v128.load offset=16 (local.get $p0)))
      (local.set $a2 (v128.load offset=32 (local.get $p0)))
      (local.set $a3 (v128.load offset=48 (local.get $p0)))
      (local.set $b0 (v128.load (local.get $p1)))
      (local.set $b1 (v128.load offset=16 (local.get $p1)))
      (local.set $b2 (v128.load offset=32 (local.get $p1)))
      (local.set $b3 (v128.load offset=48 (local.get $p1)))
      (local.set $xp (i32.add (local.get $T) (i32.shl (local.get $x0col) (i32.const 3))))
      (local.set $vp
        (i32.add (local.get $T) (i32.shl (i32.add (local.get $j0) (local.get $c)) (i32.const 3))))
      (local.set $end (i32.add (local.get $xp) (i32.mul (local.get $len) (local.get $stride))))
      (block $kd (loop $kl
        (br_if $kd (i32.ge_u (local.get $xp) (local.get $end)))
        (local.set $x (v128.load64_splat (local.get $xp)))
        (local.set $y (v128.load64_splat (i32.add (local.get $xp) (local.get $dx))))
        (local.set $v0 (v128.load (local.get $vp)))
        (local.set $v1 (v128.load offset=16 (local.get $vp)))
        (local.set $v2 (v128.load offset=32 (local.get $vp)))
        (local.set $v3 (v128.load offset=48 (local.get $vp)))
        (local.set $t (f64x2.sub (local.get $x) (local.get $v0)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.sub (local.get $x) (local.get $v1)))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.sub (local.get $x) (local.get $v2)))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.sub (local.get $x) (local.get $v3)))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.sub (local.get $y) (local.get $v0)))
        (local.set $b0 (f64x2.add (local.get $b0) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.sub (local.get $y) (local.get $v1)))
        (local.set $b1 (f64x2.add (local.get $b1) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.sub (local.get $y) (local.get $v2)))
        (local.set $b2 (f64x2.add (local.get $b2) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.sub (local.get $y) (local.get $v3)))
        (local.set $b3 (f64x2.add (local.get $b3) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $xp (i32.add (local.get $xp) (local.get $stride)))
        (local.set $vp (i32.add (local.get $vp) (local.get $stride)))
        (br $kl)))
      (v128.store (local.get $p0) (local.get $a0))
      (v128.store offset=16 (local.get $p0) (local.get $a1))
      (v128.store offset=32 (local.get $p0) (local.get $a2))
      (v128.store offset=48 (local.get $p0) (local.get $a3))
      (v128.store (local.get $p1) (local.get $b0))
      (v128.store offset=16 (local.get $p1) (local.get $b1))
      (v128.store offset=32 (local.get $p1) (local.get $b2))
      (v128.store offset=48 (local.get $p1) (local.get $b3))
      (local.set $c (i32.add (local.get $c) (i32.const 8)))
      (br $cl))))

  ;; As dist_seq with two sums per partner, the JS loop's two accumulators (sqDistanceBlock):
  ;; accE[c] over k = 0, 2, 4, .. and, when len is odd, k = len - 1 last; accO[c] over k = 1, 3, ..
  (func (export "dist_split") (param $T i32) (param $np i32) (param $len i32) (param $xcol i32)
      (param $j0 i32) (param $cnt i32) (param $accE i32) (param $accO i32)
    (local $stride i32) (local $xp i32) (local $vp i32) (local $end i32) (local $c i32) (local $off i32)
    (local $t0 v128) (local $t1 v128) (local $e v128) (local $o v128)
    (local.set $stride (i32.shl (local.get $np) (i32.const 3)))
    (block $pd (loop $pl
      (br_if $pd (i32.ge_u (local.get $c) (local.get $cnt)))
      (local.set $off (i32.shl (local.get $c) (i32.const 3)))
      (local.set $e (v128.load (i32.add (local.get $accE) (local.get $off))))
      (local.set $o (v128.load (i32.add (local.get $accO) (local.get $off))))
      (local.set $xp (i32.add (local.get $T) (i32.shl (local.get $xcol) (i32.const 3))))
      (local.set $vp
        (i32.add (local.get $T) (i32.shl (i32.add (local.get $j0) (local.get $c)) (i32.const 3))))
      (local.set $end
        (i32.add (local.get $xp)
          (i32.mul (i32.and (local.get $len) (i32.const -2)) (local.get $stride))))
      (block $kd (loop $kl
        (br_if $kd (i32.ge_u (local.get $xp) (local.get $end)))
        (local.set $t0 (f64x2.sub (v128.load64_splat (local.get $xp)) (v128.load (local.get $vp))))
        (local.set $t1
          (f64x2.sub
            (v128.load64_splat (i32.add (local.get $xp) (local.get $stride)))
            (v128.load (i32.add (local.get $vp) (local.get $stride)))))
        (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $t0) (local.get $t0))))
        (local.set $o (f64x2.add (local.get $o) (f64x2.mul (local.get $t1) (local.get $t1))))
        (local.set $xp (i32.add (local.get $xp) (i32.shl (local.get $stride) (i32.const 1))))
        (local.set $vp (i32.add (local.get $vp) (i32.shl (local.get $stride) (i32.const 1))))
        (br $kl)))
      (if (i32.and (local.get $len) (i32.const 1))
        (then
          (local.set $t0 (f64x2.sub (v128.load64_splat (local.get $xp)) (v128.load (local.get $vp))))
          (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $t0) (local.get $t0))))))
      (v128.store (i32.add (local.get $accE) (local.get $off)) (local.get $e))
      (v128.store (i32.add (local.get $accO) (local.get $off)) (local.get $o))
      (local.set $c (i32.add (local.get $c) (i32.const 2)))
      (br $pl))))

;; ---- Distance screen (src/core/simd/screen.ts; docs/aggregators.md "Pairwise distances") -----
  ;; Approximate squared distances on float32 lanes, for the selection rules, which need exact
  ;; distances only where two of them are too close to order from the approximation. Rows at x0
  ;; and x1 (byte addresses) against the cnt partners at p + c pstride, over len coordinates (a
  ;; multiple of 4; the caller pads every row with zeros). Per pair, lane l of an f32x4 sum takes
  ;; coordinates l, l + 4, .. of a run of `run` coordinates (a multiple of 4), each term
  ;; (x - y)^2 rounded in float32; at the run's end the four lanes are promoted (exactly) and
  ;; added, (l0 + l2, l1 + l3), to the pair's f64x2 sum at acc0 + 16 c (acc1 + 16 c for x1).
  ;; Every pair goes through the same operations wherever it sits in the loops.
  (func (export "screen_tile") (param $x0 i32) (param $x1 i32) (param $p i32) (param $pstride i32)
      (param $cnt i32) (param $len i32) (param $run i32) (param $acc0 i32) (param $acc1 i32)
    (local $c i32) (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $o i32) (local $rend i32) (local $lenb i32) (local $runb i32) (local $q0 i32) (local $q1 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $x v128) (local $y v128) (local $v v128) (local $t v128)
    (local.set $lenb (i32.shl (local.get $len) (i32.const 2)))
    (local.set $runb (i32.shl (local.get $run) (i32.const 2)))
    ;; Four partners at a time: each load of x0 and x1 serves eight pairs.
    (block $gd (loop $gl
      (br_if $gd (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $cnt)))
      (local.set $p0 (i32.add (local.get $p) (i32.mul (local.get $c) (local.get $pstride))))
      (local.set $p1 (i32.add (local.get $p0) (local.get $pstride)))
      (local.set $p2 (i32.add (local.get $p1) (local.get $pstride)))
      (local.set $p3 (i32.add (local.get $p2) (local.get $pstride)))
      (local.set $q0 (i32.add (local.get $acc0) (i32.shl (local.get $c) (i32.const 4))))
      (local.set $q1 (i32.add (local.get $acc1) (i32.shl (local.get $c) (i32.const 4))))
      (local.set $o (i32.const 0))
      (block $rd (loop $rl
        (br_if $rd (i32.ge_u (local.get $o) (local.get $lenb)))
        (local.set $rend (i32.add (local.get $o) (local.get $runb)))
        (if (i32.gt_u (local.get $rend) (local.get $lenb)) (then (local.set $rend (local.get $lenb))))
        (local.set $a0 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0))
        (local.set $b1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0))
        (local.set $b2 (v128.const i64x2 0 0))
        (local.set $a3 (v128.const i64x2 0 0))
        (local.set $b3 (v128.const i64x2 0 0))
        (block $kd (loop $kl
          (br_if $kd (i32.ge_u (local.get $o) (local.get $rend)))
          (local.set $x (v128.load (i32.add (local.get $x0) (local.get $o))))
          (local.set $y (v128.load (i32.add (local.get $x1) (local.get $o))))
          (local.set $v (v128.load (i32.add (local.get $p0) (local.get $o))))
          (local.set $t (f32x4.sub (local.get $x) (local.get $v)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $t (f32x4.sub (local.get $y) (local.get $v)))
          (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $v (v128.load (i32.add (local.get $p1) (local.get $o))))
          (local.set $t (f32x4.sub (local.get $x) (local.get $v)))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $t (f32x4.sub (local.get $y) (local.get $v)))
          (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $v (v128.load (i32.add (local.get $p2) (local.get $o))))
          (local.set $t (f32x4.sub (local.get $x) (local.get $v)))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $t (f32x4.sub (local.get $y) (local.get $v)))
          (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $v (v128.load (i32.add (local.get $p3) (local.get $o))))
          (local.set $t (f32x4.sub (local.get $x) (local.get $v)))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $t (f32x4.sub (local.get $y) (local.get $v)))
          (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $kl)))
        (v128.store (local.get $q0)
          (f64x2.add (v128.load (local.get $q0))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $a0))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a0) (local.get $a0))))))
        (v128.store offset=16 (local.get $q0)
          (f64x2.add (v128.load offset=16 (local.get $q0))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $a1))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a1) (local.get $a1))))))
        (v128.store offset=32 (local.get $q0)
          (f64x2.add (v128.load offset=32 (local.get $q0))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $a2))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a2) (local.get $a2))))))
        (v128.store offset=48 (local.get $q0)
          (f64x2.add (v128.load offset=48 (local.get $q0))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $a3))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a3) (local.get $a3))))))
        (v128.store (local.get $q1)
          (f64x2.add (v128.load (local.get $q1))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $b0))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $b0) (local.get $b0))))))
        (v128.store offset=16 (local.get $q1)
          (f64x2.add (v128.load offset=16 (local.get $q1))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $b1))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $b1) (local.get $b1))))))
        (v128.store offset=32 (local.get $q1)
          (f64x2.add (v128.load offset=32 (local.get $q1))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $b2))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $b2) (local.get $b2))))))
        (v128.store offset=48 (local.get $q1)
          (f64x2.add (v128.load offset=48 (local.get $q1))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $b3))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $b3) (local.get $b3))))))
        (br $rl)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $gl)))
    ;; The last cnt mod 4 partners one at a time, in the same operations.
    (block $sd (loop $sl
      (br_if $sd (i32.ge_u (local.get $c) (local.get $cnt)))
      (local.set $p0 (i32.add (local.get $p) (i32.mul (local.get $c) (local.get $pstride))))
      (local.set $q0 (i32.add (local.get $acc0) (i32.shl (local.get $c) (i32.const 4))))
      (local.set $q1 (i32.add (local.get $acc1) (i32.shl (local.get $c) (i32.const 4))))
      (local.set $o (i32.const 0))
      (block $rd1 (loop $rl1
        (br_if $rd1 (i32.ge_u (local.get $o) (local.get $lenb)))
        (local.set $rend (i32.add (local.get $o) (local.get $runb)))
        (if (i32.gt_u (local.get $rend) (local.get $lenb)) (then (local.set $rend (local.get $lenb))))
        (local.set $a0 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0))
        (block $kd1 (loop $kl1
          (br_if $kd1 (i32.ge_u (local.get $o) (local.get $rend)))
          (local.set $x (v128.load (i32.add (local.get $x0) (local.get $o))))
          (local.set $y (v128.load (i32.add (local.get $x1) (local.get $o))))
          (local.set $v (v128.load (i32.add (local.get $p0) (local.get $o))))
          (local.set $t (f32x4.sub (local.get $x) (local.get $v)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $t (f32x4.sub (local.get $y) (local.get $v)))
          (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $t) (local.get $t))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $kl1)))
        (v128.store (local.get $q0)
          (f64x2.add (v128.load (local.get $q0))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $a0))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a0) (local.get $a0))))))
        (v128.store (local.get $q1)
          (f64x2.add (v128.load (local.get $q1))
            (f64x2.add (f64x2.promote_low_f32x4 (local.get $b0))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $b0) (local.get $b0))))))
        (br $rl1)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $sl))))
)
