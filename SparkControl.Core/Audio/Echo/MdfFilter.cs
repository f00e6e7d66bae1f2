using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// A partitioned-block frequency-domain adaptive filter (the MDF structure) with two paths: the background filter
/// adapts, the foreground filter makes the output and only takes the background's coefficients when the background
/// has clearly done better; when the background has clearly diverged (it adapted on near-end speech) it is reset from
/// the foreground. Blocks are N samples, FFTs 2N (overlap-save), and the tail is M partitions of N taps.
/// </summary>
/// <remarks>
/// The update is normalised per bin by the far-end power summed over the M partitions (plus a floor), so the step is
/// a fraction of the way to the block's least-squares fit whatever the speech's spectrum. The gradient is applied
/// unconstrained and one partition per block, in turn, is projected back onto N taps (the cheap alternating-
/// constraint form of MDF: 6 FFTs a block instead of 2M + 4, and in our tests it converges no slower).
/// </remarks>
internal sealed class MdfFilter
{
    private readonly RealFft _fft;
    private readonly int _n;
    private readonly int _m;
    private readonly int _bins;
    private readonly float[][] _far;          // far-end spectra, newest at _head, then older blocks
    private readonly float[][] _farPower;     // |X|^2 per bin of each far-end spectrum
    private readonly float[][] _background;   // coefficient spectra per partition
    private readonly float[][] _foreground;
    private readonly float[][] _scout;        // adapts without the double-talk gate: finds a new echo path
    private readonly float[] _farPrevious;
    private readonly float[] _power;          // per bin: sum over partitions of |X_p|^2
    private readonly float[] _stepPerBin;
    private readonly float[] _errorSwapped;   // the error spectrum and the step laid out for ComplexSpectrum's update
    private readonly float[] _stepPairs;
    private readonly float[] _regularization;
    private readonly float[] _echoB;
    private readonly float[] _echoF;
    private readonly float[] _error;
    private readonly float[] _echoS;
    private readonly float[] _errorS;
    private int _head;
    private int _active;
    private int _projectNext;
    private int _scoutProjectNext;
    private int _historyBlock;
    private double _smoothedScout;
    private double _smoothedForegroundSlow;
    private double _smoothedForeground;
    private double _smoothedBackground;

    /// <summary>The scout's step as a fraction of <see cref="StepSize"/>.</summary>
    internal const float ScoutStep = 0.5f;

    /// <summary>A filter with the same regularization in every bin.</summary>
    public MdfFilter(int blockSize, int partitions, float regularization, float stepSize)
        : this(blockSize, partitions, Enumerable.Repeat(regularization, blockSize + 1).ToArray(), stepSize)
    {
    }

    public MdfFilter(int blockSize, int partitions, ReadOnlySpan<float> regularization, float stepSize)
    {
        _n = blockSize;
        _m = partitions;
        _active = partitions;
        _fft = new RealFft(2 * blockSize);
        _bins = _fft.Bins;
        _far = NewSpectra();
        _farPower = new float[partitions][];
        for (var p = 0; p < partitions; p++)
        {
            _farPower[p] = new float[_bins];
        }

        _background = NewSpectra();
        _foreground = NewSpectra();
        _scout = NewSpectra();
        _farPrevious = new float[blockSize];
        _power = new float[_bins];
        _stepPerBin = new float[_bins];
        _errorSwapped = _fft.NewBuffer();
        _stepPairs = _fft.NewBuffer();
        _echoB = _fft.NewBuffer();
        _echoF = _fft.NewBuffer();
        _error = _fft.NewBuffer();
        _echoS = _fft.NewBuffer();
        _errorS = _fft.NewBuffer();
        if (regularization.Length != _bins)
        {
            throw new ArgumentException($"The regularization needs one value per bin ({_bins}), not {regularization.Length}.", nameof(regularization));
        }

        _regularization = regularization.ToArray();
        StepSize = stepSize;
    }

    /// <summary>Per bin, added to the far-end power before dividing: keeps quiet bins from taking huge steps (see <see cref="EchoRegularization"/>).</summary>
    public ReadOnlySpan<float> Regularization => _regularization;

    /// <summary>Adaptation step (0..1) for a block that is surely far-end single talk.</summary>
    public float StepSize { get; }

    public int BlockSize => _n;

    public int Partitions => _m;

    /// <summary>
    /// The partitions that model the echo, from the first: the others stay zero and neither filter nor adapt (the room
    /// rings for less than the tail, and taps past its end would only gather noise). All of them at first.
    /// </summary>
    public int ActivePartitions
    {
        get => _active;
        set
        {
            _active = Math.Clamp(value, 1, _m);
            ZeroInactive();
        }
    }

    private void ZeroInactive()
    {
        for (var p = _active; p < _m; p++)
        {
            Array.Clear(_foreground[p]);
            Array.Clear(_background[p]);
            Array.Clear(_scout[p]);
        }

        _projectNext %= _active;
        _scoutProjectNext %= _active;
    }

    /// <summary>Energy of the last block's output (foreground error; background error after <see cref="Train"/>).</summary>
    public double OutputEnergy { get; private set; }

    /// <summary>Energy of the last block's echo estimate.</summary>
    public double EchoEnergy { get; private set; }

    /// <summary>Normalised correlation of the microphone with the echo estimate (≈ 1 in far-end single talk).</summary>
    public double Coherence { get; private set; }

    /// <summary>Every partition of <paramref name="source"/> into each of <paramref name="targets"/>.</summary>
    private static void Copy(float[][] source, params float[][][] targets)
    {
        foreach (var target in targets)
        {
            for (var p = 0; p < source.Length; p++)
            {
                source[p].CopyTo(target[p], 0);
            }
        }
    }

    private float[][] NewSpectra()
    {
        var spectra = new float[_m][];
        for (var p = 0; p < _m; p++)
        {
            spectra[p] = new float[_fft.BufferLength];
        }

        return spectra;
    }

    /// <summary>Starts both paths from another filter's output path (an offline run's later passes).</summary>
    public void CopyCoefficientsFrom(MdfFilter other, bool fromBackground = false)
    {
        var source = fromBackground ? other._background : other._foreground;
        Copy(source, _foreground, _background, _scout);
        ActivePartitions = other._active;
    }

    /// <summary>A copy of a path's coefficient spectra (a snapshot an offline pass can come back to).</summary>
    public float[][] Save(bool background = false) => [.. (background ? _background : _foreground).Select(p => (float[])p.Clone())];

    /// <summary>Both paths from saved coefficients; the far-end history stays, so the next block runs on as before.</summary>
    public void Load(float[][] weights)
    {
        Copy(weights, _foreground, _background, _scout);
        ZeroInactive();
        _smoothedBackground = _smoothedForeground;
        _smoothedScout = _smoothedForegroundSlow;
    }

    /// <summary>
    /// One block through both paths: <paramref name="far"/> and <paramref name="mic"/> are N samples each;
    /// <paramref name="output"/> receives mic minus the foreground's echo estimate. <paramref name="adapt"/> scales
    /// the background's step (0 freezes it); the coherence gate scales it further.
    /// </summary>
    public void Process(ReadOnlySpan<float> far, ReadOnlySpan<float> mic, Span<float> output, float adapt)
    {
        PushFar(far);
        Estimate(_background, _echoB, withPower: true);
        Estimate(_foreground, _echoF, withPower: false);

        var n = _n;
        double micEnergy = 0, foregroundError = 0, backgroundError = 0, echoEnergy = 0, cross = 0, difference = 0;
        for (var i = 0; i < n; i++)
        {
            var d = mic[i];
            var yb = _echoB[n + i];
            var yf = _echoF[n + i];
            var eb = d - yb;
            var ef = d - yf;
            _error[n + i] = eb;
            output[i] = ef;
            micEnergy += d * (double)d;
            foregroundError += ef * (double)ef;
            backgroundError += eb * (double)eb;
            echoEnergy += yf * (double)yf;
            cross += d * (double)yf;
            difference += (yb - yf) * (double)(yb - yf);
        }

        OutputEnergy = foregroundError;
        EchoEnergy = echoEnergy;
        Coherence = echoEnergy > 0 && micEnergy > 0 ? cross / Math.Sqrt(echoEnergy * micEnergy) : 0;
        DecidePaths(foregroundError, backgroundError, difference);
        if (adapt > 0)
        {
            AdaptBackground(StepSize * adapt * CoherenceStep());
            Scout(mic, foregroundError, adapt);
        }
    }

    /// <summary>
    /// The scout path: adapts at <see cref="ScoutStep"/> of the step whatever the coherence, so after the echo path
    /// changes (someone moved: the coherence gate now reads the mismatch as double talk and freezes the background) it
    /// still converges to the new path. When its smoothed error is 3 dB under the foreground's, it is taken by both
    /// paths; when it has diverged (it adapts in double talk too) to 6 dB over, it is reset from the foreground.
    /// </summary>
    private void Scout(ReadOnlySpan<float> mic, double foregroundError, float adapt)
    {
        Estimate(_scout, _echoS, withPower: false);
        var n = _n;
        double scoutError = 0;
        for (var i = 0; i < n; i++)
        {
            var e = mic[i] - _echoS[n + i];
            _errorS[n + i] = e;
            scoutError += e * (double)e;
        }

        const double smoothing = 0.8;
        _smoothedScout = (smoothing * _smoothedScout) + ((1 - smoothing) * scoutError);
        _smoothedForegroundSlow = (smoothing * _smoothedForegroundSlow) + ((1 - smoothing) * foregroundError);
        if (_smoothedScout < 0.5 * _smoothedForegroundSlow && scoutError < foregroundError)
        {
            Copy(_scout, _foreground, _background);
            _smoothedForeground = _smoothedBackground = _smoothedForegroundSlow = _smoothedScout;
        }
        else if (_smoothedScout > 4 * _smoothedForegroundSlow)
        {
            Copy(_foreground, _scout);
            _smoothedScout = _smoothedForegroundSlow;
        }

        Adapt(_scout, _errorS, StepSize * adapt * ScoutStep, ref _scoutProjectNext);
    }

    /// <summary>
    /// One block through the background path only, for offline training: with <paramref name="adapt"/> at 0 the
    /// block only enters the far-end history.
    /// </summary>
    public void Train(ReadOnlySpan<float> far, ReadOnlySpan<float> mic, float adapt)
    {
        PushFar(far);
        if (adapt > 0)
        {
            TrainCurrent(mic, adapt);
        }
    }

    /// <summary>The far-end history back to silence, as before a call's first block (a training run starting over).</summary>
    public void ClearHistory()
    {
        for (var p = 0; p < _m; p++)
        {
            Array.Clear(_far[p]);
            Array.Clear(_farPower[p]);
        }

        Array.Clear(_farPrevious);
        _head = 0;
    }

    /// <summary>
    /// One block through the background path, frozen: the energy it leaves of <paramref name="mic"/> (a third of what
    /// <see cref="Process"/> costs). With <paramref name="measure"/> false the block only enters the far-end history.
    /// </summary>
    public double Residual(ReadOnlySpan<float> far, ReadOnlySpan<float> mic, bool measure)
    {
        PushFar(far);
        if (!measure)
        {
            return 0;
        }

        Estimate(_background, _echoB, withPower: false);
        double error = 0;
        for (var i = 0; i < _n; i++)
        {
            var e = mic[i] - _echoB[_n + i];
            error += e * (double)e;
        }

        return error;
    }

    /// <summary>
    /// Sets the far-end history to end at block <paramref name="block"/> of <paramref name="x"/> (M spectra), for a
    /// pass that walks the call backwards with <see cref="StepBack"/> and <see cref="TrainCurrent"/>: the echo model
    /// is still causal, only the order in which blocks teach it is reversed.
    /// </summary>
    public void SeekHistory(float[] x, int block)
    {
        _historyBlock = block;
        _head = 0;
        for (var p = 0; p < _m; p++)
        {
            FarSpectrum(x, block - p, p);
        }
    }

    /// <summary>Moves the history one block back: the newest spectrum leaves, the block M older comes in (one FFT).</summary>
    public void StepBack(float[] x)
    {
        _historyBlock--;
        var slot = _head;
        _head = (_head + 1) % _m;
        FarSpectrum(x, _historyBlock - _m + 1, slot);
    }

    /// <summary>Adapts the background on the block the history ends at, against its microphone block.</summary>
    public void TrainCurrent(ReadOnlySpan<float> mic, float adapt)
    {
        Estimate(_background, _echoB, withPower: true);
        var n = _n;
        double micEnergy = 0, error = 0, echoEnergy = 0, cross = 0;
        for (var i = 0; i < n; i++)
        {
            var d = mic[i];
            var y = _echoB[n + i];
            var e = d - y;
            _error[n + i] = e;
            micEnergy += d * (double)d;
            error += e * (double)e;
            echoEnergy += y * (double)y;
            cross += d * (double)y;
        }

        OutputEnergy = error;
        EchoEnergy = echoEnergy;
        Coherence = echoEnergy > 0 && micEnergy > 0 ? cross / Math.Sqrt(echoEnergy * micEnergy) : 0;
        AdaptBackground(StepSize * adapt * CoherenceStep());
    }

    /// <summary>
    /// The microphone's noise as energy per block (0: none known). With it the double-talk gate judges the coherence
    /// against the most the noise allows, √(echo / (echo + noise)): where the echo is as loud as the noise, far-end
    /// single talk reaches only 0.7 and the plain gate would halve the step; 7 dB under the noise (white noise at 5 dB
    /// SNR) it reaches 0.4 and the step falls to a thirtieth, on exactly the blocks the filter must learn from.
    /// </summary>
    public double NoiseFloor { get; set; }

    /// <summary>
    /// Below this most-allowed coherence (an echo estimate 16 dB under the noise: the far end is all but silent) a
    /// block's coherence says nothing of a local talker, and the plain gate holds: scaled up, noise alone would open it.
    /// </summary>
    private const double LeastAllowedCoherence = 0.15;

    /// <summary>
    /// Double-talk gate: full step when the microphone matches the echo estimate (coherence ≥ 0.9, far-end single
    /// talk), none below 0.3 (someone local is talking), a smooth ramp between; the coherence is first scaled up by
    /// what <see cref="NoiseFloor"/> takes from it. A filter with no echo estimate yet adapts fully.
    /// </summary>
    private float CoherenceStep()
    {
        if (EchoEnergy <= 0)
        {
            return 1;
        }

        var coherence = Coherence;
        var mostAllowed = NoiseFloor > 0 ? Math.Sqrt(EchoEnergy / (EchoEnergy + NoiseFloor)) : 1;
        if (mostAllowed >= LeastAllowedCoherence)
        {
            coherence /= mostAllowed;
        }

        var t = Math.Clamp((coherence - 0.3) / 0.6, 0, 1);
        return (float)(t * t);
    }

    /// <summary>Spectrum of [block − 1, block] of <paramref name="x"/> (zeros before the call).</summary>
    private void FarSpectrum(float[] x, int block, int slot)
    {
        var target = _far[slot];
        Array.Clear(target);
        if (block >= 0)
        {
            if (block > 0)
            {
                x.AsSpan((block - 1) * _n, _n).CopyTo(target);
            }

            x.AsSpan(block * _n, _n).CopyTo(target.AsSpan(_n));
        }

        _fft.Forward(target);
        ComplexSpectrum.Power(target, _farPower[slot], _bins);
    }

    /// <summary>Far-end spectrum of [previous block, this block]; it becomes partition 0 and the others age by one.</summary>
    private void PushFar(ReadOnlySpan<float> far)
    {
        _head = (_head + _m - 1) % _m;
        var x = _far[_head];
        _farPrevious.CopyTo(x, 0);
        far.CopyTo(x.AsSpan(_n));
        x[2 * _n] = 0;
        x[(2 * _n) + 1] = 0;
        far.CopyTo(_farPrevious);
        _fft.Forward(x);
        ComplexSpectrum.Power(x, _farPower[_head], _bins);
    }

    /// <summary>Echo estimate of a path into <paramref name="target"/> (time domain, last N samples valid).</summary>
    private void Estimate(float[][] weights, float[] target, bool withPower)
    {
        Array.Clear(target);
        if (withPower)
        {
            Array.Clear(_power);
        }

        for (var p = 0; p < _active; p++)
        {
            var slot = (_head + p) % _m;
            ComplexSpectrum.MultiplyAdd(weights[p], _far[slot], target, _bins);
            if (withPower)
            {
                ComplexSpectrum.Add(_farPower[slot], _power);
            }
        }

        _fft.Inverse(target);
    }

    private void AdaptBackground(float step) => Adapt(_background, _error, step, ref _projectNext);

    /// <summary>W_p += mu conj(X_p) E / (P + delta) for every partition, then one partition projected onto N taps.</summary>
    private void Adapt(float[][] weights, float[] error, float step, ref int projectNext)
    {
        Array.Clear(error, 0, _n);
        error[2 * _n] = 0;
        error[(2 * _n) + 1] = 0;
        _fft.Forward(error);
        for (var k = 0; k < _bins; k++)
        {
            _stepPerBin[k] = step / (_power[k] + _regularization[k]);
        }

        ComplexSpectrum.PrepareConjugateProduct(error, _stepPerBin, _errorSwapped, _stepPairs, _bins);
        for (var p = 0; p < _active; p++)
        {
            ComplexSpectrum.ConjugateMultiplyAdd(_far[(_head + p) % _m], error, _errorSwapped, _stepPairs, weights[p], _bins);
        }

        var projected = weights[projectNext];
        _fft.Inverse(projected);
        Array.Clear(projected, _n, _n + 2);
        _fft.Forward(projected);
        projectNext = (projectNext + 1) % _active;
    }

    /// <summary>
    /// Two-path bookkeeping. Error energies are smoothed over a few blocks; the background replaces the foreground
    /// when it is better by more than 1.5 dB, and is reset from the foreground when it is worse by more than 6 dB.
    /// Blocks whose paths hardly differ decide nothing.
    /// </summary>
    private void DecidePaths(double foregroundError, double backgroundError, double difference)
    {
        const double smoothing = 0.5;
        _smoothedForeground = (smoothing * _smoothedForeground) + ((1 - smoothing) * foregroundError);
        _smoothedBackground = (smoothing * _smoothedBackground) + ((1 - smoothing) * backgroundError);
        if (difference <= 1e-3 * foregroundError)
        {
            return;
        }

        if (_smoothedBackground < 0.7 * _smoothedForeground && backgroundError < foregroundError)
        {
            Copy(_background, _foreground);
            _smoothedForeground = _smoothedBackground;
        }
        else if (_smoothedBackground > 4 * _smoothedForeground)
        {
            Copy(_foreground, _background);
            _smoothedBackground = _smoothedForeground;
        }
    }
}
