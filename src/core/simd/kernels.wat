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
)
