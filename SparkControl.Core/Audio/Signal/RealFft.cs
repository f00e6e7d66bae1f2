
namespace SparkControl.Core.Audio.Signal;

/// <summary>
/// A real FFT of one power-of-two size in a packed layout: a buffer of <c>Size + 2</c> floats holds <c>Size</c>
/// samples before <see cref="Forward"/> and <c>Size / 2 + 1</c> interleaved (re, im) bins after it. The forward
/// transform is unscaled and the inverse divides by <c>Size</c>, so a round trip is the identity. NWaves does the
/// transform (allocation-free, about ten times faster than MathNet's generic one at 512 points); one instance is
/// not thread-safe.
/// </summary>
internal sealed class RealFft
{
    public RealFft(int size)
    {
        if (size < 4 || (size & (size - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "The FFT size must be a power of two of at least 4.");
        }

        Size = size;
        _fft = new NWaves.Transforms.RealFft(size);
        _re = new float[size];
        _im = new float[size];
        _samples = new float[size];
    }

    private readonly NWaves.Transforms.RealFft _fft;
    private readonly float[] _re;
    private readonly float[] _im;
    private readonly float[] _samples;

    public int Size { get; }

    /// <summary>Number of complex bins, DC to Nyquist.</summary>
    public int Bins => (Size / 2) + 1;

    /// <summary>Floats a buffer needs.</summary>
    public int BufferLength => Size + 2;

    public float[] NewBuffer() => new float[BufferLength];

    /// <summary>Adds each bin's power |X_k|² of a forward-transformed <paramref name="spectrum"/> to <paramref name="sum"/>.</summary>
    private static void AddPower(float[] spectrum, double[] sum)
    {
        for (var k = 0; k < sum.Length; k++)
        {
            sum[k] += (spectrum[2 * k] * (double)spectrum[2 * k]) + (spectrum[(2 * k) + 1] * (double)spectrum[(2 * k) + 1]);
        }
    }

    /// <summary>
    /// Each bin's mean power over <paramref name="frames"/>: <paramref name="fill"/> puts a frame's samples into the
    /// buffer (its first <see cref="Size"/> floats), which is then transformed. Zeros when there are no frames.
    /// </summary>
    public double[] MeanPower(IEnumerable<int> frames, Action<int, float[]> fill)
    {
        var spectrum = new double[Bins];
        var buffer = NewBuffer();
        var count = 0;
        foreach (var frame in frames)
        {
            fill(frame, buffer);
            Forward(buffer);
            AddPower(buffer, spectrum);
            count++;
        }

        for (var k = 0; k < spectrum.Length; k++)
        {
            spectrum[k] /= Math.Max(1, count);
        }

        return spectrum;
    }

    public void Forward(float[] buffer)
    {
        Array.Copy(buffer, _samples, Size);
        _fft.Direct(_samples, _re, _im);
        for (var k = 0; k <= Size / 2; k++)
        {
            buffer[2 * k] = _re[k];
            buffer[(2 * k) + 1] = _im[k];
        }
    }

    public void Inverse(float[] buffer)
    {
        for (var k = 0; k <= Size / 2; k++)
        {
            _re[k] = buffer[2 * k];
            _im[k] = buffer[(2 * k) + 1];
        }

        _fft.InverseNorm(_re, _im, _samples);
        Array.Copy(_samples, buffer, Size);
        buffer[Size] = 0;
        buffer[Size + 1] = 0;
    }
}
