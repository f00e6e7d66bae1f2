using SparkControl.Core.Hosts;

namespace SparkControl.Core.Gpu;

/// <summary>What became of one sample.</summary>
public enum SampleOutcome
{
    /// <summary>The interval since the previous sample was counted.</summary>
    Counted,

    /// <summary>The first sample of a Spark (or the first after a restart): it starts the count.</summary>
    Started,

    /// <summary>The interval since the previous sample was longer than the gap threshold and counted as unknown.</summary>
    Gap,

    /// <summary>At or before the last sample counted (a stream that reconnected and repeated itself): ignored.</summary>
    Repeated,
}

/// <summary>One sample's effect on the ledger: its outcome, the model its interval went to and the seconds it added.</summary>
public readonly record struct SampleCount(SampleOutcome Outcome, string? Model, LedgerSeconds Seconds);

/// <summary>
/// Turns GPU samples into ledger seconds per Spark, model and minute. Intervals are measured between the samples' own
/// timestamps (nvidia-smi's clock, not arrival time); each interval takes the utilization of the sample that ends it,
/// because nvidia-smi reports utilization as an average over the period before the sample. An interval longer than the
/// gap threshold is unknown, never interpolated; a sample at or before the last one counted is ignored, so a stream
/// that reconnects and repeats itself never counts a period twice. Not thread-safe: one caller at a time.
/// </summary>
public sealed class GpuLedgerAccumulator(TimeSpan gapThreshold)
{
    private readonly Dictionary<string, Cursor> _cursors = new(StringComparer.OrdinalIgnoreCase);
    private Dictionary<LedgerKey, LedgerSeconds> _pending = [];

    public TimeSpan GapThreshold { get; } = gapThreshold;

    /// <summary>Seconds counted since the last <see cref="TakePending"/>, by Spark, model and minute.</summary>
    public IReadOnlyDictionary<LedgerKey, LedgerSeconds> Pending => _pending;

    /// <summary>The last sample counted for each Spark.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Cursors => _cursors.ToDictionary(c => c.Key, c => c.Value.At, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Resumes after a restart: samples at or before <paramref name="lastCounted"/> are ignored, and the next one
    /// starts a new count (the time the panel was not running is not in the ledger).
    /// </summary>
    public void Resume(string spark, DateTimeOffset lastCounted) => _cursors[spark] = new Cursor(lastCounted, Open: false);

    public SampleCount Add(string spark, GpuSample sample, ModelActivity activity)
    {
        var at = sample.Timestamp;
        if (!_cursors.TryGetValue(spark, out var cursor))
        {
            _cursors[spark] = new Cursor(at, Open: true);
            return new SampleCount(SampleOutcome.Started, null, LedgerSeconds.Zero);
        }

        if (at <= cursor.At)
        {
            return new SampleCount(SampleOutcome.Repeated, null, LedgerSeconds.Zero);
        }

        _cursors[spark] = new Cursor(at, Open: true);
        if (!cursor.Open)
        {
            return new SampleCount(SampleOutcome.Started, null, LedgerSeconds.Zero);
        }

        var seconds = (at - cursor.At).TotalSeconds;
        if (at - cursor.At > GapThreshold || sample.UtilizationPercent is not { } percent)
        {
            var unknown = new LedgerSeconds(0, 0, 0, 0, seconds);
            Spread(spark, null, cursor.At, at, unknown);
            return new SampleCount(SampleOutcome.Gap, null, unknown);
        }

        var busy = Math.Clamp(percent / 100, 0, 1) * seconds;
        var (model, counted) = activity.State switch
        {
            ModelActivityState.Loaded => (activity.Model, new LedgerSeconds(busy, seconds - busy, 0, 0, 0)),
            // Busy is the utilization integral over every sample, whatever the state; the rest of a swap's time is loading.
            ModelActivityState.Loading => (activity.Model, new LedgerSeconds(busy, 0, seconds - busy, 0, 0)),
            ModelActivityState.NoModel => (null, new LedgerSeconds(busy, 0, 0, seconds - busy, 0)),
            _ => ((string?)null, new LedgerSeconds(busy, 0, 0, 0, seconds - busy)),
        };
        Spread(spark, model, cursor.At, at, counted);
        return new SampleCount(SampleOutcome.Counted, model, counted);
    }

    /// <summary>Hands over the pending seconds (to be stored) and starts a new batch.</summary>
    public IReadOnlyDictionary<LedgerKey, LedgerSeconds> TakePending()
    {
        var taken = _pending;
        _pending = [];
        return taken;
    }

    /// <summary>Puts back a batch that could not be stored, so it is neither lost nor counted twice.</summary>
    public void Return(IReadOnlyDictionary<LedgerKey, LedgerSeconds> batch)
    {
        foreach (var (key, seconds) in batch)
        {
            AddTo(key, seconds);
        }
    }

    /// <summary>Adds <paramref name="seconds"/> for [<paramref name="from"/>, <paramref name="to"/>) to the minutes it spans, in proportion.</summary>
    private void Spread(string spark, string? model, DateTimeOffset from, DateTimeOffset to, LedgerSeconds seconds)
    {
        var total = (double)(to - from).Ticks;
        var start = from;
        while (start < to)
        {
            var minute = LedgerTime.Minute(start);
            var end = minute.AddMinutes(1) < to ? minute.AddMinutes(1) : to;
            AddTo(new LedgerKey(spark, model, minute), end == to && start == from ? seconds : seconds.Scale((end - start).Ticks / total));
            start = end;
        }
    }

    private void AddTo(LedgerKey key, LedgerSeconds seconds)
    {
        ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pending, key, out _);
        slot += seconds;
    }

    private readonly record struct Cursor(DateTimeOffset At, bool Open);
}
