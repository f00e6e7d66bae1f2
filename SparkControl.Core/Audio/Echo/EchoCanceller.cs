using System.Diagnostics;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Echo;

/// <summary>What <see cref="EchoCanceller"/> did to one call.</summary>
/// <param name="Output">The cleaned microphone channel, as long as the input, at the input's rate.</param>
/// <param name="Delay">The bulk delay estimate (and whether an echo was found at all).</param>
/// <param name="ErleEstimateDb">The canceller's own ERLE estimate over the blocks it judged far-end single talk; null when it found no echo or no such blocks.</param>
/// <param name="Passes">Passes run (0 when no echo was found and the microphone was passed through).</param>
/// <param name="NearEndBlocks">Blocks the second pass kept from adapting because near-end speech was judged present.</param>
public sealed record EchoCancelResult(
    float[] Output,
    int SampleRate,
    EchoDelayEstimate Delay,
    double? ErleEstimateDb,
    int Passes,
    int BlockSize,
    int Partitions,
    int NearEndBlocks,
    TimeSpan Elapsed,
    double? DriftPpm = null,
    bool ResidualSuppressed = false)
{
    /// <summary>
    /// When the loudspeaker was found to bend the far end (clipping, compression) and the canceller ran on the far end
    /// as bent by the fitted <see cref="LoudspeakerCurve"/>: how much less of the far-end talk the room then left
    /// unexplained (dB). Null when the loudspeaker sounded linear.
    /// </summary>
    public double? LoudspeakerCurveDb { get; init; }

    /// <summary>
    /// Partitions of <see cref="BlockSize"/> the filter used: fewer than <see cref="Partitions"/> when the room rang out
    /// before the tail's end and the taps past it were left out. Null when no echo was found.
    /// </summary>
    public int? RoomPartitions { get; init; }

    /// <summary>
    /// Where the echo path was found to change (someone moved, the loudspeaker's volume was turned): the offline
    /// training then fitted the room on each side of it apart. Null when the room held still, and when no change was
    /// looked for: one pass, or a call shorter than <see cref="ShortestForPathChange"/>.
    /// </summary>
    public TimeSpan? PathChange { get; init; }
}

/// <summary>
/// Offline acoustic echo canceller for a recorded two-channel call: channel 0 is the microphone (local speech plus
/// the echo of the loudspeaker plus noise), channel 1 is what the loudspeaker played (the far-end reference).
/// <list type="number">
/// <item>GCC-PHAT finds the bulk delay over the whole file, so the adaptive filter's tail covers only the room; a call
/// with no coherent echo (headphones) is passed through untouched.</item>
/// <item>A memoryless curve for the loudspeaker (<see cref="LoudspeakerCurve"/>) is fitted from the call; when it
/// explains part of the echo the room alone does not (clipping, compression), the filter runs on the far end as bent by
/// it.</item>
/// <item>A two-path MDF filter (<see cref="MdfFilter"/>) cancels the echo; its step shrinks when the microphone stops
/// looking like the echo estimate (double talk), and the foreground path never takes a diverged background.</item>
/// <item>Where the first pass's filter (or, later, the trained one) shows the room ringing out before the tail ends,
/// the partitions past it are left out (<see cref="RoomPartitions"/>): there they only gathered noise, and after a path
/// change the mismatch. A filter cut after its training is trained again over the room alone.</item>
/// <item>Where the room changed mid-call (<see cref="FindPathChange"/>), one filter trained over the whole call is a
/// compromise between two rooms: the room is then trained on each side of the change apart, and the second pass takes the
/// later filter at the change.</item>
/// <item>Offline, a second pass starts from the learnt filter. Before it, the residual of the first pass's filter over the
/// whole file marks the blocks with near-end speech (a look-ahead a live canceller cannot have), the background path
/// trains once per <see cref="TrainingSteps"/> entry over the unmarked blocks, and the second pass does not adapt on marked
/// blocks either (in a noisy room it adapts at the training's last step). The first pass's output is discarded.</item>
/// <item>Optionally, a mild spectral gain removes part of the residual echo.</item>
/// </list>
/// Stages that do not depend on each other (the drift's windows and the whole-file delay; the backward pass and the
/// replays; the two halves' filters of the path-change search; the trainings on each side of a change) run side by side
/// on the thread pool; each is deterministic, so the output is the same bit for bit on one core or many.
/// </summary>
public static class EchoCanceller
{
    /// <summary>
    /// Extra offline training runs between the passes, each at this fraction of the step: the background path goes over
    /// the file again, adapting only on blocks without near-end speech. Each costs about a sixth of a pass (two full-step
    /// runs lifted far-end ERLE by 5–8 dB on the test calls). The smaller steps of the later runs let the filter settle
    /// closer to the echo path where noise jostles it: each step's share of the noise is smaller (up to 3 dB more of the
    /// echo alone removed on the noisy test calls than two full-step runs; within 0.3 dB on the calls without noise, 1.1
    /// dB more on one).
    /// </summary>
    private static ReadOnlySpan<float> TrainingSteps => [1, 0.4f, 0.2f];

    /// <summary>
    /// Drift below this is left to the adaptive filter (and so is drift that moves the echo by under a sample over the
    /// call): the delay estimate's own scatter is about a ppm on a minute of speech.
    /// </summary>
    internal const double MinimumDriftPpm = 2;

    /// <summary>The second pass chooses between its filter and the forward and backward snapshots this often.</summary>
    private static readonly TimeSpan Stretch = TimeSpan.FromSeconds(0.5);

    /// <summary>A snapshot wins a stretch only with under this fraction of the adaptive filter's far-end output energy (−2.2 dB).</summary>
    private const double ProbeMargin = 0.6;

    /// <summary>Taps kept before the direct path for jitter and for reflections stronger than the direct sound.</summary>
    private static readonly TimeSpan PreDelay = TimeSpan.FromMilliseconds(4);

    /// <summary>Cancels the echo in a stereo call (channel 0 microphone, channel 1 reference).</summary>
    public static EchoCancelResult Cancel(PcmAudio call, EchoCancellerSettings? settings = null)
    {
        if (call.ChannelCount != 2)
        {
            throw new ArgumentException($"An echo-cancellation call needs 2 channels (0 = microphone, 1 = far end), not {call.ChannelCount}.", nameof(call));
        }

        return Cancel(call.Channels[0], call.Channels[1], call.SampleRate, settings);
    }

    public static EchoCancelResult Cancel(ReadOnlyMemory<float> mic, ReadOnlyMemory<float> reference, int sampleRate, EchoCancellerSettings? settings = null)
    {
        settings ??= new EchoCancellerSettings();
        CheckArguments(mic.Length, reference.Length, sampleRate, settings);
        var watch = Stopwatch.StartNew();
        // The drift's windows and the whole-file delay share the machine's cores (stages that do not depend on each other
        // run side by side from here on; each is deterministic, so the output does not depend on how they interleave).
        var drift = default(EchoDrift);
        var delay = default(EchoDelayEstimate)!;
        Parallel.Invoke(
            () => drift = EchoDriftEstimator.Estimate(mic, reference, sampleRate, settings.MaxDelay),
            () => delay = EchoDelayEstimator.Estimate(mic.Span, reference.Span, sampleRate, settings.MaxDelay));
        var blockSize = ScaleBlock(settings.BlockSize, sampleRate);
        var tailSamples = (int)Math.Ceiling(settings.TailLength.TotalSeconds * sampleRate);
        var partitions = Math.Max(1, (tailSamples + blockSize - 1) / blockSize);
        var follow = drift is not null && Math.Abs(drift.Ppm) >= MinimumDriftPpm && Math.Abs(drift.Slope * mic.Length) >= 1;
        if (follow)
        {
            // Over a drifting call the whole-file peak smears (and can vanish): the delay at the start stands for it.
            delay = delay with { Samples = (int)Math.Round(drift!.DelayAtStart), HasEcho = true };
        }

        if (!delay.HasEcho)
        {
            return new EchoCancelResult(mic.ToArray(), sampleRate, delay, null, 0, blockSize, partitions, 0, watch.Elapsed);
        }

        var preDelay = (int)(PreDelay.TotalSeconds * sampleRate);
        var blocks = (mic.Length + blockSize - 1) / blockSize;
        var padded = blocks * blockSize;
        var d = new float[padded];
        mic.CopyTo(d);
        float[] Align(ReadOnlySpan<float> far) => follow
            ? ReferenceAligner.Follow(far, n => drift!.DelayAt(n) - preDelay, padded)
            : ReferenceAligner.Shift(far, Math.Max(0, delay.Samples - preDelay), padded);

        var x = Align(reference.Span);
        var fitted = LoudspeakerCurve.Fit(x, d, CurveFrame(partitions * blockSize));
        var curve = fitted is { Worthwhile: true } ? fitted : null;
        if (curve is not null)
        {
            // The far end as the loudspeaker bent it, aligned the same way: to the linear filter the echo is linear again.
            x = Align(curve.Map(reference.Span));
        }

        var regularization = EchoRegularization.PerBin(x, d, blockSize, partitions);

        var output = new float[padded];
        var step = (float)settings.StepSize;
        var first = new MdfFilter(blockSize, partitions, regularization, step);
        var coherence = new double[blocks];
        var echo = new double[blocks];
        var stretch = Math.Max(1, (int)Math.Round(Stretch.TotalSeconds * sampleRate / blockSize));
        var snapshots = new List<float[][]>();
        RunPass(first, x, d, output, null, coherence, echo, stretch, snapshots);
        // Taps past the room's end only gather noise (and, where the path changes, the mismatch): once the first pass
        // clearly shows where the room ends, every later filter models only the room.
        first.ActivePartitions = RoomPartitions(first.Save(), blockSize, converged: false);

        bool[]? nearEndMask = null;
        // One pass runs the whole tail before the room's end is known; two leave the rest out from the training on.
        var room = partitions;
        TimeSpan? pathChange = null;
        if (settings.Passes == 2)
        {
            // Each candidate is replayed once: its residual judges the near end, and its output can win a stretch. The
            // backward pass and its replay run beside the replays of the forward snapshots and of the learnt filter.
            var forward = Forward(snapshots);
            float[][][] backward = [];
            Replayed backwardReplay = null!, forwardReplay = null!, learnt = null!;
            Parallel.Invoke(
                () =>
                {
                    backward = Backward(x, d, stretch, blockSize, partitions, first.ActivePartitions, regularization, step);
                    backwardReplay = Replay(first, backward, stretch, x, d, blockSize, partitions, regularization);
                },
                () =>
                {
                    forwardReplay = Replay(first, forward, stretch, x, d, blockSize, partitions, regularization);
                    learnt = Replay(first, null, stretch, x, d, blockSize, partitions, regularization);
                });
            float[][][][] candidates = [forward, backward];
            Replayed[] replays = [forwardReplay, backwardReplay];
            var mask = nearEndMask = NearEndMask(learnt, replays);
            var second = new MdfFilter(blockSize, partitions, regularization, step);
            // What the learnt filter leaves in the call's quietest blocks is the room's noise (nothing, on a clean call).
            var noiseFloor = Percentile(learnt.Residual, 0.1);
            var trained = TrainOnFarEndOnly(first, x, d, mask, noiseFloor);
            second.CopyCoefficientsFrom(trained, fromBackground: true);
            // The trained filter has converged over every far-end block: what is flat past the room is noise. (The
            // snapshots' replays keep the first pass's length; one that wins a stretch is cut as the filter takes it.)
            second.ActivePartitions = RoomPartitions(trained.Save(background: true)[..trained.ActivePartitions], blockSize, converged: true);
            if (second.ActivePartitions < trained.ActivePartitions)
            {
                // Trained again over the room alone: with fewer taps to fit, each holds less of the noise (a least-squares
                // fit's error grows with its taps over the samples it has). Costs about half a pass more.
                second.CopyCoefficientsFrom(TrainOnFarEndOnly(second, x, d, mask, noiseFloor), fromBackground: true);
            }

            room = second.ActivePartitions;
            var changeBlock = FindPathChange(second, x, d, mask, noiseFloor, sampleRate);
            (int Block, float[][] Filter)? change = null;
            if (changeBlock is { } at)
            {
                MdfFilter before = null!, after = null!;
                Parallel.Invoke(
                    () => before = TrainOnFarEndOnly(second, x, d, mask, noiseFloor, 0, at),
                    () => after = TrainOnFarEndOnly(second, x, d, mask, noiseFloor, at, blocks));
                second.CopyCoefficientsFrom(before, fromBackground: true);
                change = (at, after.Save(background: true));
                pathChange = TimeSpan.FromSeconds(at * (double)blockSize / sampleRate);
            }

            // In a noisy room the full step would put back the noise the training's small steps averaged out (babble at
            // 20 dB SNR: 15.5 dB of the echo alone removed at the full step, 20.9 at the training's last); on a clean
            // call the full step lets the filter go on converging (the 14 s call with 400 ms of delay loses 2.6 dB at
            // the small one).
            var noisyRoom = noiseFloor > 0 && Percentile(learnt.Echo, 0.9) < Math.Pow(10, NoisyRoomDb / 10) * noiseFloor;
            RunSecondPass(second, candidates, replays, stretch, x, d, output, mask, coherence, echo, noisyRoom ? TrainingSteps[^1] : 1, change);
        }

        var erle = EstimateErle(d, output, coherence, echo, blockSize, nearEndMask);
        // Without far-end single talk there is no measure of what the filter leaves, so nothing to suppress by.
        var suppressed = false;
        if (settings.ResidualSuppression && erle is { } linearErle)
        {
            SuppressResidual(d, output, linearErle, blockSize);
            erle = EstimateErle(d, output, coherence, echo, blockSize, nearEndMask);
            suppressed = true;
        }

        var result = new float[mic.Length];
        Array.Copy(output, result, mic.Length);
        return new EchoCancelResult(result, sampleRate, delay, erle, settings.Passes, blockSize, partitions, nearEndMask?.Count(m => m) ?? 0, watch.Elapsed, follow ? Math.Round(drift!.Ppm, 1) : null, suppressed)
        {
            LoudspeakerCurveDb = curve is null ? null : Math.Round(curve.GainDb, 1),
            RoomPartitions = room,
            PathChange = pathChange,
        };
    }

    private static void CheckArguments(int micLength, int referenceLength, int sampleRate, EchoCancellerSettings settings)
    {
        var problems = settings.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems.Select(p => p.Message)), nameof(settings));
        }

        if (sampleRate is < 8000 or > 48000)
        {
            throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "The sample rate must be 8000–48000 Hz.");
        }

        if (micLength != referenceLength)
        {
            throw new ArgumentException($"The channels differ in length ({micLength} and {referenceLength} samples).", "reference");
        }
    }

    /// <summary>
    /// The second pass's starting filter: the first pass's, trained again on the blocks where only the far end talks
    /// (over the whole call, or over blocks [<paramref name="from"/>, <paramref name="to"/>)), its double-talk gate told
    /// the <paramref name="noiseFloor"/>.
    /// </summary>
    private static MdfFilter TrainOnFarEndOnly(MdfFilter first, float[] x, float[] d, bool[] nearEndMask, double noiseFloor, int from = 0, int? to = null)
    {
        var blockSize = first.BlockSize;
        var trainer = new MdfFilter(blockSize, first.Partitions, first.Regularization, first.StepSize) { NoiseFloor = noiseFloor };
        trainer.CopyCoefficientsFrom(first);
        var end = to ?? nearEndMask.Length;
        foreach (var rate in TrainingSteps)
        {
            // Each run starts from silence, the far-end history filled from the tail's length before the range on (those
            // blocks teach nothing): the end of the last run is not the call's past.
            trainer.ClearHistory();
            for (var b = Math.Max(0, from - first.Partitions); b < end; b++)
            {
                var span = new Range(b * blockSize, (b + 1) * blockSize);
                trainer.Train(x.AsSpan(span), d.AsSpan(span), nearEndMask[b] || b < from ? 0 : rate);
            }
        }

        return trainer;
    }

    /// <summary>
    /// A path change shows as a misfit far past what noise and the training's own error cause: filters trained on each
    /// half of the call alone, each run over the other half, must leave this much more there than its own filter (the
    /// test calls: at most 0.9 dB where the room holds still, 1.4–3.7 dB with clocks drifting, 9.2 and 19.7 dB where the
    /// room changes).
    /// </summary>
    private const double PathChangeDb = 6;

    /// <summary>The shortest call a path change is looked for in: each half's filter is trained on that half alone.</summary>
    public static readonly TimeSpan ShortestForPathChange = TimeSpan.FromSeconds(10);

    /// <summary>Each half must hold this much far-end single talk for its filter to be judged.</summary>
    private static readonly TimeSpan PathChangeFarEnd = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The block where the echo path changed, or null. The room filter is trained on each half of the call alone; where
    /// each leaves <see cref="PathChangeDb"/> more on the other half than that half's own filter, the room changed. The
    /// change is where the early filter's lead over the late one, summed over the far-end blocks from the start, peaks.
    /// One change is found (the one that matters most); a change near either end of the call barely moves the half it
    /// falls in and is left to the second pass's snapshots, as is one placed within a tail's length of either end. The
    /// residuals hold the room's noise on both sides of each comparison, so in a very noisy room only a larger change
    /// clears the bar.
    /// </summary>
    internal static int? FindPathChange(MdfFilter room, float[] x, float[] d, bool[] nearEndMask, double noiseFloor, int sampleRate)
    {
        var blockSize = room.BlockSize;
        var blocks = nearEndMask.Length;
        var half = blocks / 2;
        var farEndBlocks = PathChangeFarEnd.TotalSeconds * sampleRate / blockSize;
        if (2 * half * blockSize < ShortestForPathChange.TotalSeconds * sampleRate
            || nearEndMask[..half].Count(m => !m) < farEndBlocks || nearEndMask[half..].Count(m => !m) < farEndBlocks)
        {
            return null;
        }

        // What each half's trained filter leaves of every far-end block (frozen; the history starts from silence).
        double[] ResidualOf(MdfFilter trainer)
        {
            var trained = new MdfFilter(blockSize, room.Partitions, room.Regularization, 0);
            trained.CopyCoefficientsFrom(trainer, fromBackground: true);
            var residual = new double[blocks];
            for (var b = 0; b < blocks; b++)
            {
                var span = new Range(b * blockSize, (b + 1) * blockSize);
                residual[b] = trained.Residual(x.AsSpan(span), d.AsSpan(span), !nearEndMask[b]);
            }

            return residual;
        }

        double[] early = [], late = [];
        Parallel.Invoke(
            () => early = ResidualOf(TrainOnFarEndOnly(room, x, d, nearEndMask, noiseFloor, 0, half)),
            () => late = ResidualOf(TrainOnFarEndOnly(room, x, d, nearEndMask, noiseFloor, half)));
        double earlyOnFirst = 0, lateOnFirst = 0, earlyOnSecond = 0, lateOnSecond = 0, lead = 0, peak = 0;
        var at = 0;
        for (var b = 0; b < blocks; b++)
        {
            if (nearEndMask[b])
            {
                continue;
            }

            if (b < half)
            {
                earlyOnFirst += early[b];
                lateOnFirst += late[b];
            }
            else
            {
                earlyOnSecond += early[b];
                lateOnSecond += late[b];
            }

            lead += late[b] - early[b];
            if (lead > peak)
            {
                peak = lead;
                at = b + 1;
            }
        }

        var misfit = Math.Pow(10, PathChangeDb / 10);
        var inside = at >= room.Partitions && at <= blocks - room.Partitions;
        return lateOnFirst > misfit * earlyOnFirst && earlyOnSecond > misfit * lateOnSecond && inside ? at : null;
    }

    /// <summary>Suppresses what the linear filter left, scaled by how much it removed (the echo estimate is what it took away).</summary>
    private static void SuppressResidual(float[] d, float[] output, double linearErle, int blockSize)
    {
        var echoEstimate = new float[d.Length];
        for (var i = 0; i < d.Length; i++)
        {
            echoEstimate[i] = d[i] - output[i];
        }

        ResidualEchoSuppressor.Apply(output, echoEstimate, Math.Pow(10, -linearErle / 10), blockSize);
    }

    /// <summary>
    /// A room is noisy when the loud blocks' echo estimate is less than this far over the noise floor: the test calls
    /// without added noise sit at 31–42 dB, those with noise at 1–21 dB.
    /// </summary>
    private const double NoisyRoomDb = 25;

    /// <summary>
    /// A filter that has not converged yet (the first pass's) shows where the room ends only when its floor is this far
    /// under its whole energy; above it, the floor may still hold convergence error over the room's own late taps.
    /// </summary>
    private const double FloorDepthDb = 25;

    /// <summary>
    /// A trained filter's floor past the room is this quantile of the last half's partition energies, not their median:
    /// noise that shares the far end's spectral lines (babble of other voices) piles up in some late partitions, up to
    /// 6 dB over the rest, and a median among them sits over the room's own late taps (babble at 10 dB SNR: the room cut
    /// at 4 partitions of its 8, 13.1 dB of the echo alone removed; at this quantile 15.5 dB). A filter still converging
    /// keeps the median: its floor also decides whether it is trusted at all (<see cref="FloorDepthDb"/>).
    /// </summary>
    private const double FloorQuantile = 0.25;

    /// <summary>
    /// How many partitions the room fills, judged from a filter's taps. A room's response only decays; where the last
    /// quarter of the tail is no more than 2 dB below the quarter before it, the taps there are misadjustment noise (or
    /// the mismatch of a path that changed), not room. Then the room ends where the energy first comes within 3 dB of
    /// that floor (for a <paramref name="converged"/> filter the <see cref="FloorQuantile"/> of the last half, else its
    /// median), and one partition more is kept. A room still decaying at the tail's end,
    /// a filter that has not <paramref name="converged"/> with a floor within <see cref="FloorDepthDb"/> of its energy, or
    /// a tail under 8 partitions keeps every partition.
    /// </summary>
    internal static int RoomPartitions(float[][] weights, int blockSize, bool converged)
    {
        var m = weights.Length;
        if (m < 8)
        {
            return m;
        }

        var fft = new RealFft(2 * blockSize);
        var buffer = fft.NewBuffer();
        var energy = new double[m];
        for (var p = 0; p < m; p++)
        {
            weights[p].CopyTo(buffer, 0);
            fft.Inverse(buffer);
            for (var i = 0; i < blockSize; i++)
            {
                energy[p] += buffer[i] * (double)buffer[i];
            }
        }

        var quarter = m / 4;
        var third = Percentile(energy[(m - (2 * quarter))..(m - quarter)], 0.5);
        var fourth = Percentile(energy[(m - quarter)..], 0.5);
        if (third <= 0 || fourth <= 0 || 10 * Math.Log10(third / fourth) > 2)
        {
            return m;
        }

        var floor = Percentile(energy[(m - (2 * quarter))..], converged ? FloorQuantile : 0.5);
        if (!converged && floor > Math.Pow(10, -FloorDepthDb / 10) * energy.Sum())
        {
            return m;
        }

        var end = Array.FindIndex(energy, e => e < 2 * floor);
        return end < 0 ? m : Math.Min(m, end + 2);
    }

    /// <summary>
    /// The loudspeaker curve's frames: twice the tail at least, a power of two, so a frame holds the room's whole
    /// response; at most 32,768 samples (a long tail at 48 kHz would otherwise need hundreds of megabytes of spectra).
    /// </summary>
    private static int CurveFrame(int tailSamples)
    {
        var frame = 64;
        while (frame < 2 * tailSamples && frame < 32768)
        {
            frame <<= 1;
        }

        return frame;
    }

    /// <summary>The block keeps its duration across rates (256 at 16 kHz = 16 ms), rounded to a power of two.</summary>
    internal static int ScaleBlock(int blockAt16k, int sampleRate)
    {
        var wanted = blockAt16k * (double)sampleRate / 16000;
        var block = 64;
        while (block * 1.5 < wanted)
        {
            block <<= 1;
        }

        return block;
    }

    private static void RunPass(MdfFilter filter, float[] x, float[] d, float[] output, bool[]? nearEndMask, double[] coherence, double[] echo, int stretch, List<float[][]> snapshots)
    {
        var n = filter.BlockSize;
        for (var b = 0; b * n < d.Length; b++)
        {
            var span = new Range(b * n, (b + 1) * n);
            filter.Process(x.AsSpan(span), d.AsSpan(span), output.AsSpan(span), nearEndMask is not null && nearEndMask[b] ? 0 : 1);
            coherence[b] = filter.Coherence;
            echo[b] = filter.EchoEnergy;
            if ((b + 1) % stretch == 0)
            {
                snapshots.Add(filter.Save());
            }
        }
    }

    /// <summary>For each stretch, the first pass's filter as it stood at the stretch's end: it has heard the call up to there.</summary>
    private static float[][][] Forward(List<float[][]> snapshots)
    {
        var result = new float[snapshots.Count + 1][][];
        for (var j = 0; j < result.Length; j++)
        {
            result[j] = snapshots.Count == 0 ? [] : snapshots[Math.Min(j, snapshots.Count - 1)];
        }

        return result;
    }

    /// <summary>
    /// For each stretch, a filter trained backwards from the end of the call down to the stretch's start: it has heard
    /// the call from there on. After an echo-path change (someone moved) the forward filter still models the old
    /// path for seconds while this one already knows the new one, and before it the other way round.
    /// </summary>
    private static float[][][] Backward(float[] x, float[] d, int stretch, int blockSize, int partitions, int active, float[] regularization, float step)
    {
        var blocks = d.Length / blockSize;
        var result = new float[((blocks - 1) / stretch) + 2][][];
        var filter = new MdfFilter(blockSize, partitions, regularization, step) { ActivePartitions = active };
        filter.SeekHistory(x, blocks - 1);
        for (var b = blocks - 1; b >= 0; b--)
        {
            filter.TrainCurrent(d.AsSpan(b * blockSize, blockSize), 1);
            if (b % stretch == 0)
            {
                result[b / stretch] = filter.Save(background: true);
            }

            if (b > 0)
            {
                filter.StepBack(x);
            }
        }

        for (var j = 0; j < result.Length; j++)
        {
            result[j] ??= [];
        }

        return result;
    }

    /// <summary>
    /// The output pass: the trained filter runs on, adapting at <paramref name="step"/> where no one local talks, and
    /// beside it the frozen forward and backward snapshots' replays. Stretch by stretch, the filter whose output has
    /// least energy over the far-end blocks wins it; when a snapshot wins clearly, the adaptive filter takes its
    /// coefficients (an echo-path change is followed within a stretch instead of being mistaken for double talk). At a
    /// path <paramref name="change"/> found before the pass, the filter takes the one trained after it.
    /// </summary>
    private static void RunSecondPass(MdfFilter main, float[][][][] candidates, Replayed[] replays, int stretch, float[] x, float[] d, float[] output, bool[] mask, double[] coherence, double[] echo, float step, (int Block, float[][] Filter)? change)
    {
        var n = main.BlockSize;
        var candidateErrors = new double[candidates.Length];
        var blocks = d.Length / n;
        for (var start = 0; start < blocks; start += stretch)
        {
            var j = start / stretch;
            double mainError = 0;
            Array.Clear(candidateErrors);
            var end = Math.Min(blocks, start + stretch);
            for (var b = start; b < end; b++)
            {
                if (b == change?.Block)
                {
                    main.Load(change.Value.Filter);
                }

                var span = new Range(b * n, (b + 1) * n);
                main.Process(x.AsSpan(span), d.AsSpan(span), output.AsSpan(span), mask[b] ? 0 : step);
                coherence[b] = main.Coherence;
                echo[b] = main.EchoEnergy;
                if (!mask[b])
                {
                    mainError += main.OutputEnergy;
                    for (var c = 0; c < candidates.Length; c++)
                    {
                        candidateErrors[c] += replays[c].Residual[b];
                    }
                }
            }

            var best = -1;
            for (var c = 0; c < candidates.Length; c++)
            {
                if (candidates[c][j].Length > 0 && candidateErrors[c] < ProbeMargin * mainError && (best < 0 || candidateErrors[c] < candidateErrors[best]))
                {
                    best = c;
                }
            }

            if (best >= 0)
            {
                replays[best].Output.AsSpan(start * n, (end - start) * n).CopyTo(output.AsSpan(start * n));
                main.Load(candidates[best][j]);
            }
        }
    }

    /// <summary>
    /// Near-end speech per block, judged from the first pass's final filter and the forward and backward snapshots over
    /// the whole file, taking per block the one that leaves the least: where that residual is well above what the
    /// filter leaves in far-end single talk (a fixed fraction of its echo estimate, plus the noise floor), someone local
    /// is talking. Widened by two blocks each side, since speech starts softly.
    /// </summary>
    private static bool[] NearEndMask(Replayed trained, Replayed[] candidates)
    {
        var residual = (double[])trained.Residual.Clone();
        var echo = (double[])trained.Echo.Clone();
        foreach (var candidate in candidates)
        {
            for (var b = 0; b < residual.Length; b++)
            {
                // Near-end speech leaves a residual under every filter; a path the final filter has not heard, only under it.
                if (candidate.Residual[b] < residual[b])
                {
                    residual[b] = candidate.Residual[b];
                    echo[b] = candidate.Echo[b];
                }
            }
        }

        return MaskFrom(residual, echo);
    }

    /// <summary>Near-end blocks from each block's residual and echo-estimate energy under a filter that fits the far end.</summary>
    private static bool[] MaskFrom(double[] residual, double[] echo)
    {
        var blocks = residual.Length;
        var floor = Percentile(residual, 0.1);
        var loudEcho = Percentile(echo, 0.9);
        var leakRatios = Enumerable.Range(0, blocks).Where(b => echo[b] > 0.1 * loudEcho && echo[b] > 0).Select(b => residual[b] / echo[b]).ToArray();
        var leak = leakRatios.Length == 0 ? 0 : Percentile(leakRatios, 0.5);
        var active = new bool[blocks];
        for (var b = 0; b < blocks; b++)
        {
            active[b] = residual[b] > 10 * ((leak * echo[b]) + floor) && residual[b] > 2 * floor;
        }

        var mask = new bool[blocks];
        for (var b = 0; b < blocks; b++)
        {
            for (var j = Math.Max(0, b - 2); j <= Math.Min(blocks - 1, b + 2); j++)
            {
                mask[b] |= active[j];
            }
        }

        return mask;
    }

    /// <summary>A frozen filter run over the call: its output, and each block's output and echo-estimate energy.</summary>
    private sealed record Replayed(float[] Output, double[] Residual, double[] Echo);

    /// <summary>The call through a frozen filter: the trained one, or per stretch a forward or backward snapshot.</summary>
    private static Replayed Replay(MdfFilter trained, float[][][]? snapshots, int stretch, float[] x, float[] d, int blockSize, int partitions, float[] regularization)
    {
        var replay = new MdfFilter(blockSize, partitions, regularization, 0);
        replay.CopyCoefficientsFrom(trained);
        var blocks = d.Length / blockSize;
        var output = new float[d.Length];
        var residual = new double[blocks];
        var echo = new double[blocks];
        for (var b = 0; b < blocks; b++)
        {
            if (snapshots is not null && b % stretch == 0 && snapshots[b / stretch].Length > 0)
            {
                replay.Load(snapshots[b / stretch]);
            }

            var span = new Range(b * blockSize, (b + 1) * blockSize);
            replay.Process(x.AsSpan(span), d.AsSpan(span), output.AsSpan(span), 0);
            residual[b] = replay.OutputEnergy;
            echo[b] = replay.EchoEnergy;
        }

        return new Replayed(output, residual, echo);
    }

    /// <summary>The value a <paramref name="fraction"/> of the way up the sorted values (nearest rank; 0 when there are none).</summary>
    internal static double Percentile(double[] values, double fraction)
    {
        if (values.Length == 0)
        {
            return 0;
        }

        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[(int)Math.Clamp(Math.Round(fraction * (sorted.Length - 1)), 0, sorted.Length - 1)];
    }

    /// <summary>
    /// ERLE over the blocks that look like far-end single talk: loud echo estimate, microphone coherent with it, and
    /// (after two passes) not marked as near-end speech: where the echo is as loud as the local voice, double talk is
    /// coherent too, and its local speech in the output would read as echo left (echo gain 1.0: 20.5 dB estimated
    /// against 30.9 dB measured without the mask).
    /// </summary>
    private static double? EstimateErle(float[] d, float[] e, double[] coherence, double[] echo, int blockSize, bool[]? nearEndMask)
    {
        var loud = Percentile(echo, 0.95);
        double mic = 0, output = 0;
        for (var b = 0; b < coherence.Length; b++)
        {
            if (coherence[b] >= 0.9 && echo[b] > 0.01 * loud && loud > 0 && nearEndMask?[b] != true)
            {
                for (var i = b * blockSize; i < (b + 1) * blockSize; i++)
                {
                    mic += d[i] * (double)d[i];
                    output += e[i] * (double)e[i];
                }
            }
        }

        return mic > 0 && output > 0 ? Math.Round(10 * Math.Log10(mic / output), 1) : null;
    }
}
