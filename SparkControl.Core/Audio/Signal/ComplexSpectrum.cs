using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparkControl.Core.Audio.Signal;

/// <summary>
/// Bin-by-bin complex products over <see cref="RealFft"/>'s interleaved (re, im) spectra, the adaptive filter's inner
/// loops: four bins per instruction with 256-bit vectors, two with 128-bit ones (NEON on the Sparks). Every bin is
/// rounded exactly as the scalar expression rounds it (the same products and sums in the same order, no fused
/// multiply-add), so a filter's output does not depend on the hardware's vector width.
/// </summary>
internal static class ComplexSpectrum
{
    /// <summary><paramref name="target"/> += <paramref name="w"/> · <paramref name="x"/> over the first <paramref name="bins"/> bins.</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> target, int bins)
    {
        var length = 2 * bins;
        CheckLength(length, w.Length, x.Length, target.Length);
        ref var wr = ref MemoryMarshal.GetReference(w);
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var tr = ref MemoryMarshal.GetReference(target);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // (wr·xr − wi·xi, wr·xi + wi·xr): the real parts of w times x, plus its imaginary parts times x swapped, signed.
            var sign = Vector256.Create(-1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f);
            for (; i <= length - 8; i += 8)
            {
                var wv = Vector256.LoadUnsafe(ref wr, (nuint)i);
                var xv = Vector256.LoadUnsafe(ref xr, (nuint)i);
                var real = Vector256.Shuffle(wv, Vector256.Create(0, 0, 2, 2, 4, 4, 6, 6));
                var imaginary = Vector256.Shuffle(wv, Vector256.Create(1, 1, 3, 3, 5, 5, 7, 7));
                var swapped = Vector256.Shuffle(xv, Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6));
                var product = (real * xv) + (imaginary * swapped * sign);
                (Vector256.LoadUnsafe(ref tr, (nuint)i) + product).StoreUnsafe(ref tr, (nuint)i);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            var sign = Vector128.Create(-1f, 1f, -1f, 1f);
            for (; i <= length - 4; i += 4)
            {
                var wv = Vector128.LoadUnsafe(ref wr, (nuint)i);
                var xv = Vector128.LoadUnsafe(ref xr, (nuint)i);
                var real = Vector128.Shuffle(wv, Vector128.Create(0, 0, 2, 2));
                var imaginary = Vector128.Shuffle(wv, Vector128.Create(1, 1, 3, 3));
                var swapped = Vector128.Shuffle(xv, Vector128.Create(1, 0, 3, 2));
                var product = (real * xv) + (imaginary * swapped * sign);
                (Vector128.LoadUnsafe(ref tr, (nuint)i) + product).StoreUnsafe(ref tr, (nuint)i);
            }
        }

        for (; i < length; i += 2)
        {
            float a = w[i], b = w[i + 1], c = x[i], d = x[i + 1];
            target[i] += (a * c) - (b * d);
            target[i + 1] += (a * d) + (b * c);
        }
    }

    /// <summary>
    /// The per-block half of <see cref="ConjugateMultiplyAdd"/>: from the error spectrum <paramref name="e"/> and a
    /// real scale per bin, (e_im, −e_re) and the scale twice per bin, shared by every partition's update.
    /// </summary>
    public static void PrepareConjugateProduct(ReadOnlySpan<float> e, ReadOnlySpan<float> scale, Span<float> swappedSigned, Span<float> scalePairs, int bins)
    {
        CheckLength(2 * bins, e.Length, swappedSigned.Length, scalePairs.Length);
        for (var k = 0; k < bins; k++)
        {
            swappedSigned[2 * k] = e[(2 * k) + 1];
            swappedSigned[(2 * k) + 1] = -e[2 * k];
            scalePairs[2 * k] = scalePairs[(2 * k) + 1] = scale[k];
        }
    }

    /// <summary>
    /// <paramref name="w"/> += conj(<paramref name="x"/>) · e · scale per bin, with e and the scale as
    /// <see cref="PrepareConjugateProduct"/> laid them out: ((xr·er + xi·ei)·s, (xr·ei − xi·er)·s).
    /// </summary>
    public static void ConjugateMultiplyAdd(ReadOnlySpan<float> x, ReadOnlySpan<float> e, ReadOnlySpan<float> swappedSigned, ReadOnlySpan<float> scalePairs, Span<float> w, int bins)
    {
        var length = 2 * bins;
        CheckLength(length, x.Length, e.Length, w.Length);
        CheckLength(length, swappedSigned.Length, scalePairs.Length, length);
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var er = ref MemoryMarshal.GetReference(e);
        ref var sr = ref MemoryMarshal.GetReference(swappedSigned);
        ref var cr = ref MemoryMarshal.GetReference(scalePairs);
        ref var wr = ref MemoryMarshal.GetReference(w);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= length - 8; i += 8)
            {
                var xv = Vector256.LoadUnsafe(ref xr, (nuint)i);
                var real = Vector256.Shuffle(xv, Vector256.Create(0, 0, 2, 2, 4, 4, 6, 6));
                var imaginary = Vector256.Shuffle(xv, Vector256.Create(1, 1, 3, 3, 5, 5, 7, 7));
                var gradient = ((real * Vector256.LoadUnsafe(ref er, (nuint)i)) + (imaginary * Vector256.LoadUnsafe(ref sr, (nuint)i))) * Vector256.LoadUnsafe(ref cr, (nuint)i);
                (Vector256.LoadUnsafe(ref wr, (nuint)i) + gradient).StoreUnsafe(ref wr, (nuint)i);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= length - 4; i += 4)
            {
                var xv = Vector128.LoadUnsafe(ref xr, (nuint)i);
                var real = Vector128.Shuffle(xv, Vector128.Create(0, 0, 2, 2));
                var imaginary = Vector128.Shuffle(xv, Vector128.Create(1, 1, 3, 3));
                var gradient = ((real * Vector128.LoadUnsafe(ref er, (nuint)i)) + (imaginary * Vector128.LoadUnsafe(ref sr, (nuint)i))) * Vector128.LoadUnsafe(ref cr, (nuint)i);
                (Vector128.LoadUnsafe(ref wr, (nuint)i) + gradient).StoreUnsafe(ref wr, (nuint)i);
            }
        }

        for (; i < length; i += 2)
        {
            float a = x[i], b = x[i + 1];
            w[i] += ((a * e[i]) + (b * swappedSigned[i])) * scalePairs[i];
            w[i + 1] += ((a * e[i + 1]) + (b * swappedSigned[i + 1])) * scalePairs[i + 1];
        }
    }

    /// <summary>|x_k|² per bin into <paramref name="power"/>.</summary>
    public static void Power(ReadOnlySpan<float> x, Span<float> power, int bins)
    {
        CheckLength(2 * bins, x.Length, 2 * power.Length, 2 * bins);
        for (var k = 0; k < bins; k++)
        {
            power[k] = (x[2 * k] * x[2 * k]) + (x[(2 * k) + 1] * x[(2 * k) + 1]);
        }
    }

    /// <summary><paramref name="sum"/> += <paramref name="values"/>, element by element.</summary>
    public static void Add(ReadOnlySpan<float> values, Span<float> sum)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= values.Length - 8; i += 8)
            {
                (Vector256.Create(sum[i..]) + Vector256.Create(values[i..])).CopyTo(sum[i..]);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= values.Length - 4; i += 4)
            {
                (Vector128.Create(sum[i..]) + Vector128.Create(values[i..])).CopyTo(sum[i..]);
            }
        }

        for (; i < values.Length; i++)
        {
            sum[i] += values[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckLength(int needed, int a, int b, int c)
    {
        if (a < needed || b < needed || c < needed)
        {
            throw new ArgumentException($"Each spectrum needs at least {needed} floats.");
        }
    }
}
