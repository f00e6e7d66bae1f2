using System.Collections.Immutable;
using SparkControl.Core.Hosts;

namespace SparkControl.Core.Gpu;

/// <summary>Whether a Spark's sample stream is delivering.</summary>
public enum GpuStreamStatus
{
    Connecting,
    Streaming,

    /// <summary>The stream failed or ended; it is opened again after the reconnect delay.</summary>
    Interrupted,
}

/// <summary>One Spark's GPU right now: the latest samples, unified memory, what the GPU is given to and the recent busy ratio.</summary>
public sealed record SparkGpuState
{
    /// <summary>How many samples <see cref="Recent"/> keeps: two minutes, as the live state moves on once a second.</summary>
    public const int RecentSamples = 120;

    public required string Spark { get; init; }
    public GpuStreamStatus Status { get; init; }
    public string? Error { get; init; }
    public ImmutableArray<GpuSample> Recent { get; init; } = [];
    public GpuSample? Latest => Recent.IsEmpty ? null : Recent[^1];
    public MemoryInfo? Memory { get; init; }
    public ModelActivity Activity { get; init; } = ModelActivity.Unknown;

    /// <summary>Busy over watched time in the last five minutes of samples; null before any interval was counted.</summary>
    public double? BusyRatio { get; init; }

    public SparkGpuState WithSample(GpuSample sample) => this with
    {
        Status = GpuStreamStatus.Streaming,
        Error = null,
        Recent = Recent.Length < RecentSamples ? Recent.Add(sample) : Recent.RemoveAt(0).Add(sample),
    };
}

/// <summary>Every Spark's GPU; <see cref="LedgerVersion"/> moves whenever the ledger's figures may have changed, so views re-read them.</summary>
public sealed record GpuFleetState(ImmutableArray<SparkGpuState> Sparks, long LedgerVersion)
{
    public static readonly GpuFleetState Empty = new([], 0);

    public SparkGpuState? Find(string spark) => Sparks.FirstOrDefault(s => string.Equals(s.Spark, spark, StringComparison.OrdinalIgnoreCase));

    public GpuFleetState With(string spark, Func<SparkGpuState, SparkGpuState> update)
    {
        var current = Find(spark);
        return current is null ? this : this with { Sparks = Sparks.Replace(current, update(current)) };
    }
}
