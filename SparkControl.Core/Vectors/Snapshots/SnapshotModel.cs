using Cronos;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Vectors.Snapshots;

/// <summary>
/// When and what a Qdrant service's snapshots are taken, and how many are kept: a cron expression (UTC, five fields)
/// or an interval; every collection one by one, one collection, or the full storage; the newest
/// <see cref="KeepLast"/> and any younger than <see cref="KeepDays"/> are kept, the rest deleted on Qdrant and here.
/// </summary>
public sealed record SnapshotSchedule
{
    /// <summary>The scope that snapshots the whole storage at once (Qdrant's full snapshot, single-node only).</summary>
    public const string Full = "full";

    /// <summary>The scope that snapshots every collection, each on its own.</summary>
    public const string EachCollection = "each";

    public bool Enabled { get; init; }

    public string? Cron { get; init; }

    public TimeSpan? Interval { get; init; }

    /// <summary><see cref="EachCollection"/>, <see cref="Full"/>, or one collection's name.</summary>
    public string Scope { get; init; } = EachCollection;

    public int KeepLast { get; init; } = 7;

    public int KeepDays { get; init; } = 0;

    public static readonly SnapshotSchedule Off = new();

    /// <summary>The first slot after <paramref name="after"/>; null when the schedule is off.</summary>
    public DateTimeOffset? Next(DateTimeOffset after)
    {
        if (!Enabled)
        {
            return null;
        }

        if (Cron is { } cron)
        {
            return CronExpression.Parse(cron).GetNextOccurrence(after, TimeZoneInfo.Utc);
        }

        return Interval is { } interval ? after + interval : null;
    }

    public IReadOnlyList<FieldError> Check()
    {
        var errors = new List<FieldError>();
        if (Cron is not null && Interval is not null)
        {
            errors.Add(new FieldError("cron", "give a cron expression or an interval, not both"));
        }

        if (Enabled && Cron is null && Interval is null)
        {
            errors.Add(new FieldError("cron", "an enabled schedule needs a cron expression or an interval"));
        }

        if (Cron is { } cron)
        {
            try
            {
                CronExpression.Parse(cron);
            }
            catch (CronFormatException ex)
            {
                errors.Add(new FieldError("cron", $"'{Validators.Printable(cron)}' is not a cron expression (five fields: minute hour day month weekday, UTC): {ex.Message}"));
            }
        }

        if (Interval is { } interval && (interval < TimeSpan.FromMinutes(5) || interval > TimeSpan.FromDays(31)))
        {
            errors.Add(new FieldError("interval", $"interval must be between 5 minutes and 31 days, not {interval}"));
        }

        if (Scope is not (Full or EachCollection) && Validators.Name(Scope, "scope") is { } scope)
        {
            errors.Add(new FieldError("scope", $"{scope}; or '{EachCollection}' for every collection, '{Full}' for the whole storage"));
        }

        if (KeepLast is < 1 or > 1000)
        {
            errors.Add(new FieldError("keepLast", $"keepLast must be between 1 and 1000, not {KeepLast}"));
        }

        if (KeepDays is < 0 or > 3650)
        {
            errors.Add(new FieldError("keepDays", $"keepDays must be between 0 and 3650, not {KeepDays}"));
        }

        return errors;
    }
}

public enum SnapshotRunStatus
{
    Running,
    Done,
    Failed,
}

/// <summary>One snapshot of one collection (or the full storage): where it stands and what it left on disk.</summary>
public sealed record SnapshotRecord
{
    public required long Id { get; init; }

    /// <summary>The Qdrant service, <c>spark/name</c>.</summary>
    public required string Service { get; init; }

    /// <summary>The collection, or <see cref="SnapshotSchedule.Full"/>.</summary>
    public required string Collection { get; init; }

    /// <summary><c>schedule</c>, or the name of whoever asked for it.</summary>
    public required string Trigger { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public SnapshotRunStatus Status { get; init; } = SnapshotRunStatus.Running;

    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Qdrant's name for the snapshot.</summary>
    public string? Name { get; init; }

    /// <summary>The Qdrant version that took it: a snapshot restores only within its minor version.</summary>
    public string? QdrantVersion { get; init; }

    public long? Size { get; init; }

    public string? Checksum { get; init; }

    /// <summary>Bytes downloaded so far.</summary>
    public long Downloaded { get; init; }

    /// <summary>The panel's copy, relative to the snapshots folder; null until it is whole and checked.</summary>
    public string? File { get; init; }

    public DateTimeOffset? DeletedAt { get; init; }

    public string? Error { get; init; }

    public bool IsKept => Status == SnapshotRunStatus.Done && File is not null && DeletedAt is null;
}
