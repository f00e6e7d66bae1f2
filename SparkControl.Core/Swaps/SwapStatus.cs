using System.Collections.Immutable;
using System.Text.Json.Serialization;
using SparkControl.Core.Collections;

namespace SparkControl.Core.Swaps;

/// <summary>When a swap entered a phase and, once it moved on, when it left it.</summary>
public sealed record PhaseTiming(SwapPhase Phase, DateTimeOffset StartedAt, DateTimeOffset? EndedAt)
{
    public TimeSpan? Duration => EndedAt - StartedAt;
}

/// <summary>A step of a model server's start, recognised in its log ("Loading weights took 12.3 seconds").</summary>
public sealed record LoadingStep(string Text, DateTimeOffset At);

/// <summary>Bytes of the new model fetched so far, and how many are expected when that is known.</summary>
public sealed record DownloadStatus(long BytesDone, long? BytesTotal)
{
    public double? Fraction => BytesTotal is > 0 ? Math.Clamp(BytesDone / (double)BytesTotal.Value, 0, 1) : null;
}

/// <summary>Why a swap failed, in words an operator can act on, with what the container left behind.</summary>
public sealed record SwapFailure(string Message, int? ExitCode = null, bool OomKilled = false)
{
    /// <summary>The failed container's last log lines (redacted).</summary>
    public ValueArray<string> LogLines { get; init; } = [];
}

/// <summary>
/// One swap, as every browser and client sees it: immutable, replaced as a whole on every change. A swap to no
/// model (<see cref="ModelId"/> null) is an unload.
/// </summary>
public sealed record SwapStatus
{
    public required string Id { get; init; }

    /// <summary>A Spark's name, or <see cref="SwapTargets.Cluster"/> for a model on both Sparks.</summary>
    public required string Target { get; init; }

    /// <summary>The Sparks the swap holds (one, or both for a cluster model).</summary>
    public required ValueArray<string> Sparks { get; init; }

    public string? ModelId { get; init; }
    public string? ServedName { get; init; }
    public string? PreviousModelId { get; init; }
    public required string Requester { get; init; }
    public required SwapPhase Phase { get; init; }
    public required DateTimeOffset RequestedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public ValueArray<PhaseTiming> Phases { get; init; } = [];

    /// <summary>What is happening now, in one line.</summary>
    public string Message { get; init; } = "requested";

    /// <summary>0–1, from this model's past phase durations (or a size-based estimate).</summary>
    public double Progress { get; init; }

    /// <summary>
    /// Time left until Ready from this model's past swaps or, without them, time left of the download from its bytes;
    /// null when neither is known.
    /// </summary>
    public TimeSpan? Eta { get; init; }

    /// <summary>True when <see cref="Progress"/> and <see cref="Eta"/> come from past swaps of this model; false, an <see cref="Eta"/> is the download's alone.</summary>
    public bool EtaFromHistory { get; init; }

    public MemoryBudget? Budget { get; init; }
    public DownloadStatus? Download { get; init; }
    public ValueArray<LoadingStep> Steps { get; init; } = [];
    public SwapFailure? Failure { get; init; }

    /// <summary>The last log lines of the container this swap stopped, kept because launch-cluster.sh removes it.</summary>
    public ValueArray<string> PreviousLogs { get; init; } = [];

    /// <summary>The container that serves (or will serve) the model, once the swap knows it.</summary>
    public string? Container { get; init; }

    /// <summary>The command that starts the model, exactly as it runs on the Spark.</summary>
    public string? CommandLine { get; init; }

    /// <summary>Services the operator chose to stop to make room.</summary>
    public ValueArray<string> StopServices { get; init; } = [];

    /// <summary>The failed swap this one rolls back.</summary>
    public string? RollbackOf { get; init; }

    /// <summary>The swap started to roll this one back, after it failed.</summary>
    public string? RolledBackBy { get; init; }

    /// <summary>
    /// After a swap a restart interrupted that left nothing serving: the model that served before it, which the
    /// operator is offered to bring back (a swap to it on <see cref="Target"/>).
    /// </summary>
    public string? BringBack { get; init; }

    public bool IsUnload => ModelId is null;

    public bool IsActive => !Phase.IsTerminal();

    public DateTimeOffset? PhaseStartedAt => Phases.Count > 0 ? Phases[^1].StartedAt : null;

    /// <summary>True once the swap has begun to stop what ran (a swap that follows the loaded model never does).</summary>
    [JsonIgnore]
    public bool HasStopped => Phases.Any(p => p.Phase == SwapPhase.Stopping);
}

/// <summary>The latest swap of every Spark (kept after it ends), as one snapshot.</summary>
public sealed record SwapBoard(ImmutableDictionary<string, SwapStatus> BySpark)
{
    public static readonly SwapBoard Empty = new(ImmutableDictionary.Create<string, SwapStatus>(StringComparer.OrdinalIgnoreCase));

    /// <summary>The swaps now running, each once even when it holds two Sparks.</summary>
    [JsonIgnore]
    public IEnumerable<SwapStatus> Active => BySpark.Values.Where(s => s.IsActive).DistinctBy(s => s.Id);

    /// <summary>The latest swaps, each once.</summary>
    [JsonIgnore]
    public IEnumerable<SwapStatus> Latest => BySpark.Values.DistinctBy(s => s.Id).OrderBy(s => s.RequestedAt);

    /// <summary>
    /// Per Spark, the latest ended swap that changed what it serves (stopped the model that ran), kept once a later swap
    /// has taken its place on <see cref="BySpark"/>. Until that later swap stops something, the Spark is as this one
    /// left it, and health may not have seen that yet (<see cref="FleetView.Leading"/>). Not part of the hub's stream.
    /// </summary>
    [JsonIgnore]
    public ImmutableDictionary<string, SwapStatus> SettledBySpark { get; init; } = ImmutableDictionary.Create<string, SwapStatus>(StringComparer.OrdinalIgnoreCase);

    public SwapStatus? Find(string id) => BySpark.Values.FirstOrDefault(s => s.Id == id);

    /// <summary>The latest swap of <paramref name="spark"/> and the ended one that last changed it (either may be null).</summary>
    public (SwapStatus? Latest, SwapStatus? Settled) Of(string spark) => (BySpark.GetValueOrDefault(spark), SettledBySpark.GetValueOrDefault(spark));

    public SwapBoard With(SwapStatus status)
    {
        var settled = SettledBySpark;
        foreach (var spark in status.Sparks)
        {
            // A swap that ended without stopping anything (refused in preflight) changed nothing: the one before it stays.
            if (BySpark.TryGetValue(spark, out var replaced) && replaced.Id != status.Id && !replaced.IsActive && replaced.HasStopped)
            {
                settled = settled.SetItem(spark, replaced);
            }
        }

        return new(status.Sparks.Aggregate(BySpark, (board, spark) => board.SetItem(spark, status))) { SettledBySpark = settled };
    }

    /// <summary>
    /// Replaces the swap where it still stands: on the Sparks a later swap has taken over since, the later one stays.
    /// For a swap that has ended, whose record is still being completed (its loading steps, its rollback).
    /// </summary>
    public SwapBoard Amend(SwapStatus status)
    {
        var standing = BySpark.Where(p => p.Value.Id == status.Id).Select(p => KeyValuePair.Create(p.Key, status)).ToList();
        var settled = SettledBySpark.Where(p => p.Value.Id == status.Id).Select(p => KeyValuePair.Create(p.Key, status)).ToList();
        return standing.Count + settled.Count == 0 ? this : new(BySpark.SetItems(standing)) { SettledBySpark = SettledBySpark.SetItems(settled) };
    }
}

public static class SwapTargets
{
    /// <summary>The target of a model that spans both Sparks through launch-cluster.sh.</summary>
    public const string Cluster = "cluster";
}
