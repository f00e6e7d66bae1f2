using System.Globalization;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Streams;
using SparkControl.Core.Units;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Disk;

public enum ModelCopyPhase
{
    Copying,
    Done,
    Failed,
}

/// <summary>One copy of a model directory from one Spark to the other, as the form and <c>GET /api/models/copies/{id}</c> show it.</summary>
public sealed record ModelCopyStatus
{
    public required string Id { get; init; }
    public required string From { get; init; }
    public required string To { get; init; }
    public required string Path { get; init; }

    /// <summary>The other Spark's address on the Sparks' own link, where rsync sends the files.</summary>
    public required string Link { get; init; }

    public required string Requester { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required long TotalBytes { get; init; }
    public long DoneBytes { get; init; }
    public ModelCopyPhase Phase { get; init; } = ModelCopyPhase.Copying;
    public string Message { get; init; } = "copying";
    public string? Error { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public bool Finished => Phase != ModelCopyPhase.Copying;
    public double Fraction => TotalBytes > 0 ? Math.Min(1, DoneBytes / (double)TotalBytes) : 0;
}

/// <summary>
/// Copies a local model's directory to the same path on the other Spark, for a model served on both: rsync over SSH
/// from the Spark that has it to the other's address on their own link (the addresses launch-cluster.sh uses, from the
/// head's <c>launchCluster.nodes</c>), with the progress read from the size on the other Spark every second.
/// </summary>
public sealed partial class ModelCopier(SparkFleet fleet, TimeProvider time, ILogger<ModelCopier> logger) : IDisposable
{
    private readonly JobTable<ModelCopyStatus> _copies = new(c => c.Id, c => c.StartedAt);
    private readonly CancellationTokenSource _stopping = new();

    public event Action<ModelCopyStatus>? Changed
    {
        add => _copies.Changed += value;
        remove => _copies.Changed -= value;
    }

    public ModelCopyStatus? Find(string id) => _copies.Find(id);

    public IReadOnlyList<ModelCopyStatus> All => _copies.All;

    /// <summary>
    /// The two Sparks of the cluster, head first, each with its address on the link, or null without launch-cluster
    /// settings naming two nodes.
    /// </summary>
    public static IReadOnlyList<(SparkEntry Spark, string Link)>? ClusterLink(FleetConfiguration fleet)
    {
        var head = fleet.Sparks.FirstOrDefault(s => s.Definition.LaunchCluster is { Nodes.Count: > 1 });
        var other = fleet.Sparks.FirstOrDefault(s => s != head);
        return head is null || other is null ? null : [(head, head.Definition.LaunchCluster!.Nodes[0]), (other, head.Definition.LaunchCluster!.Nodes[1])];
    }

    /// <summary>Checks the copy (400 for a field, 409 for a refusal), measures what there is to copy, and starts it.</summary>
    public async Task<ModelCopyStatus> StartAsync(string? from, string? to, string? path, string requester, CancellationToken cancellationToken)
    {
        var (source, target, link) = Validate(from, to, path);
        var (real, problem) = await LocalModelInspector.ResolveInsideRootsAsync(source.Host, source.Definition, path!, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            throw new SettingsConflictException($"Nothing to copy from {source.Name}: {problem}.");
        }

        var total = await source.Host.GetDiskUsageAsync(real!, cancellationToken).ConfigureAwait(false) ?? 0;
        var there = await target.Host.GetDiskUsageAsync(path!, cancellationToken).ConfigureAwait(false);
        if (there == total)
        {
            throw new SettingsConflictException($"{path} is already on {target.Name} with the same size ({ByteSize.Human(total)}); there is nothing to copy.");
        }

        var root = target.Definition.ModelRoots.First(r => Validators.IsUnder(path!, r));
        if (await target.Host.GetDiskSpaceAsync(root, cancellationToken).ConfigureAwait(false) is { } space && space.AvailableBytes < total - (there ?? 0))
        {
            throw new SettingsConflictException($"{target.Name} has {ByteSize.Human(space.AvailableBytes)} free under {root}; the copy needs {ByteSize.Human(total - (there ?? 0))}. Free space there first.");
        }

        var status = new ModelCopyStatus
        {
            Id = JobTable<ModelCopyStatus>.NewId(), From = source.Name, To = target.Name, Path = path!, Link = link,
            Requester = requester, StartedAt = time.GetUtcNow(), TotalBytes = total, DoneBytes = there ?? 0,
        };
        if (_copies.TryAdd(status, all => all.FirstOrDefault(c => !c.Finished && c.Path == status.Path && (c.To == status.To || c.From == status.To))) is { } running)
        {
            throw new SettingsConflictException($"{running.Path} is already being copied from {running.From} to {running.To}; wait for that copy to end.");
        }

        LogStarted(path!, source.Name, target.Name, link, requester);
        _ = Task.Run(() => RunAsync(status.Id, source, target, real!, _stopping.Token), CancellationToken.None);
        return status;
    }

    private (SparkEntry Source, SparkEntry Target, string Link) Validate(string? from, string? to, string? path)
    {
        var current = fleet.Current;
        var errors = new List<FieldError>();
        var source = current.Find(from ?? string.Empty);
        var target = current.Find(to ?? string.Empty);
        if ((Validators.Name(from, "from") ?? (source is null ? $"No Spark is named '{Validators.Printable(from!)}'." : null)) is { } fromError)
        {
            errors.Add(new FieldError("from", fromError));
        }

        if ((Validators.Name(to, "to") ?? (target is null ? $"No Spark is named '{Validators.Printable(to!)}'." : source == target ? "to must be the other Spark" : null)) is { } toError)
        {
            errors.Add(new FieldError("to", toError));
        }

        if ((Validators.AbsolutePath(path) ?? (target is null ? null : Validators.PathUnderRoots(path, target.Definition.ModelRoots))) is { } pathError)
        {
            errors.Add(new FieldError("path", pathError));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        var link = ClusterLink(current)?.FirstOrDefault(l => l.Spark == target).Link
            ?? throw new SettingsConflictException("No Spark has launchCluster settings with two nodes: the copy goes over the Sparks' own link, whose addresses those settings name. Set them on the head Spark in Settings.");
        return (source!, target!, link);
    }

    private async Task RunAsync(string id, SparkEntry source, SparkEntry target, string real, CancellationToken stopping)
    {
        var status = _copies.Find(id)!;
        using var measuring = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var progress = ReportProgressAsync(id, target, status.Path, measuring.Token);
        try
        {
            await source.Host.CopyDirectoryAsync(real, status.Link, status.Path, stopping).ConfigureAwait(false);
            await measuring.CancelAsync().ConfigureAwait(false);
            await progress.ConfigureAwait(false);
            var copied = await target.Host.GetDiskUsageAsync(status.Path, stopping).ConfigureAwait(false) ?? 0;
            if (copied != status.TotalBytes)
            {
                throw new InvalidOperationException($"rsync ended, but {status.Path} holds {copied} bytes on {target.Name} against {status.TotalBytes} on {source.Name}: copy again (it resumes), or check both directories by hand.");
            }

            _copies.Update(id, s => s with { Phase = ModelCopyPhase.Done, DoneBytes = copied, Message = $"copied {ByteSize.Human(copied)} to {target.Name}", EndedAt = time.GetUtcNow() });
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await measuring.CancelAsync().ConfigureAwait(false);
            var error = stopping.IsCancellationRequested ? "the panel stopped during the copy; copy again (rsync resumes where it stopped)" : ex.Message;
            LogFailed(ex, status.Path, source.Name, target.Name);
            _copies.Update(id, s => s with { Phase = ModelCopyPhase.Failed, Error = error, Message = "failed", EndedAt = time.GetUtcNow() });
        }
    }

    /// <summary>Measures the copy on the other Spark every second, for the progress bar; a failed measure costs one update only.</summary>
    private async Task ReportProgressAsync(string id, SparkEntry target, string path, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, stop).ConfigureAwait(false);
                if (await target.Host.GetDiskUsageAsync(path, stop).ConfigureAwait(false) is { } bytes)
                {
                    _copies.Update(id, s => s with { DoneBytes = bytes, Message = $"copying: {ByteSize.Human(bytes)} of {ByteSize.Human(s.TotalBytes)} ({(s.TotalBytes > 0 ? 100.0 * bytes / s.TotalBytes : 0).ToString("0", CultureInfo.InvariantCulture)}%)" });
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is SparkCommandException or SparkUnreachableException)
        {
            // The copy itself decides the outcome.
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Copying {Path} from {From} to {To} (over {Link}) for {Requester}")]
    private partial void LogStarted(string path, string from, string to, string link, string requester);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The copy of {Path} from {From} to {To} failed")]
    private partial void LogFailed(Exception exception, string path, string from, string to);
}
