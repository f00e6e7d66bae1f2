using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Audit;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Core.Units;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Disk;

/// <summary>How one requested folder of a cleanup ended.</summary>
public enum WeightsCleanupOutcome
{
    Deleted,
    Referenced,
    InUse,
    Missing,
    Failed,
}

/// <summary>One folder of a cleanup: deleted with the bytes it freed, or why it was kept.</summary>
public sealed record WeightsCleanupResult(string Folder, string? RepoId, WeightsCleanupOutcome Outcome, long BytesFreed, string? Reason);

/// <summary>
/// Lists the model folders of a Spark's Hugging Face cache with their sizes and whether a catalog entry or a running
/// container needs them, and deletes the ones that nothing needs. Whatever the caller saw, each folder is checked again
/// just before it goes (the catalog may have gained an entry, a container may have started), each deletion is one
/// exact <c>rm -rf</c> under the hub directory, and each is audited with the bytes it freed.
/// </summary>
public sealed partial class WeightsCleanup(SparkFleet fleet, ModelCatalog catalog, AuditLog audit, ILogger<WeightsCleanup> logger)
{
    public const string AuditAction = "weights.delete";

    /// <summary>Every <c>models--*</c> folder of the Spark's hub directory, measured one <c>du</c> at a time.</summary>
    public async Task<HfCacheListing> ListAsync(string spark, CancellationToken cancellationToken)
    {
        var entry = Find(spark);
        var hub = await HubPathAsync(entry, cancellationToken).ConfigureAwait(false);
        var (containers, problem) = await ContainersAsync(entry, cancellationToken).ConfigureAwait(false);
        var folders = ImmutableArray.CreateBuilder<HfCacheFolder>();
        foreach (var found in await FoldersAsync(entry, hub, cancellationToken).ConfigureAwait(false))
        {
            folders.Add(await DescribeAsync(entry, hub, found, containers, cancellationToken).ConfigureAwait(false));
        }

        return new HfCacheListing(entry.Name, hub, folders.ToImmutable(), problem);
    }

    /// <summary>
    /// Deletes those of <paramref name="folders"/> that are (still) unreferenced and unused, one by one; the others are
    /// kept and say why. Names that are not cache folder names refuse the whole request before anything is deleted.
    /// </summary>
    public async Task<IReadOnlyList<WeightsCleanupResult>> CleanupAsync(string spark, IReadOnlyList<string> folders, AuditActor actor, CancellationToken cancellationToken)
    {
        var errors = folders.Select((f, i) => Validators.HfCacheFolder(f, $"folders[{i}]") is { } error ? new FieldError($"folders[{i}]", error) : null).OfType<FieldError>().ToList();
        if (folders.Count == 0)
        {
            errors.Add(new FieldError("folders", "name at least one folder to delete"));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        var entry = Find(spark);
        var hub = await HubPathAsync(entry, cancellationToken).ConfigureAwait(false);
        var results = new List<WeightsCleanupResult>();
        foreach (var folder in folders.Distinct(StringComparer.Ordinal))
        {
            results.Add(await DeleteOneAsync(entry, hub, folder, actor, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    private async Task<WeightsCleanupResult> DeleteOneAsync(SparkEntry entry, string hub, string folder, AuditActor actor, CancellationToken cancellationToken)
    {
        var repo = HfCacheRules.RepoIdOf(folder)!;
        if ((await FoldersAsync(entry, hub, cancellationToken).ConfigureAwait(false)).FirstOrDefault(e => e.Name == folder) is not { } found)
        {
            return new WeightsCleanupResult(folder, repo, WeightsCleanupOutcome.Missing, 0, $"{folder} is not in {hub} on {entry.Name}");
        }

        // Read the containers for every folder: one started while an earlier folder was being removed counts.
        var (containers, problem) = await ContainersAsync(entry, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return new WeightsCleanupResult(folder, repo, WeightsCleanupOutcome.InUse, 0, $"kept: {problem}");
        }

        var now = await DescribeAsync(entry, hub, found, containers, cancellationToken).ConfigureAwait(false);
        if (now.Referenced)
        {
            return new WeightsCleanupResult(folder, repo, WeightsCleanupOutcome.Referenced, 0, $"kept: the catalog uses it ({string.Join(", ", now.ReferencedBy)})");
        }

        if (now.InUse)
        {
            return new WeightsCleanupResult(folder, repo, WeightsCleanupOutcome.InUse, 0, $"kept: running container {string.Join(", ", now.InUseBy)} uses it");
        }

        try
        {
            await entry.Host.RemoveHfCacheFolderAsync(hub, folder, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SparkCommandException or SparkUnreachableException or RemoteCommandTimeoutException or NotSupportedException)
        {
            LogDeleteFailed(entry.Name, folder, ex.Message);
            audit.Record(actor, AuditAction, $"{entry.Name}:{folder}", $"failed: {ex.Message}");
            return new WeightsCleanupResult(folder, repo, WeightsCleanupOutcome.Failed, 0, ex.Message);
        }

        var freed = now.FreedByDeleting;
        audit.Record(actor, AuditAction, $"{entry.Name}:{folder}", now.IsSymlink
            ? $"{repo}: the symlink removed, its target kept (0 bytes)"
            : $"{repo}: {ByteSize.Format(freed)} freed ({freed} bytes)");
        LogDeleted(entry.Name, folder, freed, actor.Name);
        return new WeightsCleanupResult(folder, repo, WeightsCleanupOutcome.Deleted, freed, null);
    }

    private async Task<HfCacheFolder> DescribeAsync(SparkEntry entry, string hub, DirectoryEntry found, IReadOnlyList<ContainerSummary> containers, CancellationToken cancellationToken)
    {
        var folder = found.Name;
        var repo = HfCacheRules.RepoIdOf(folder)!;
        long? bytes;
        try
        {
            bytes = await entry.Host.GetDiskUsageAsync($"{hub}/{folder}", cancellationToken).ConfigureAwait(false);
        }
        catch (SparkCommandException ex)
        {
            // A folder du cannot read completely (permissions) is still listed; its size is unknown.
            LogMeasureFailed(entry.Name, folder, ex.Message);
            bytes = null;
        }

        return new HfCacheFolder(
            folder,
            repo,
            bytes,
            HfCacheRules.ReferencedBy(folder, repo, catalog.Current.Models, entry.Name, hub),
            HfCacheRules.InUseBy(folder, repo, containers))
        {
            IsSymlink = found.IsSymlink,
        };
    }

    /// <summary>
    /// The cache's model folders by name, directories and symlinks alike; a name the cleanup could not delete safely
    /// (<see cref="Validators.HfCacheFolder"/>) is left out rather than offered.
    /// </summary>
    private static async Task<IReadOnlyList<DirectoryEntry>> FoldersAsync(SparkEntry entry, string hub, CancellationToken cancellationToken) =>
        [.. (await entry.Host.ListDirectoryAsync(hub, cancellationToken).ConfigureAwait(false))
            .Where(e => (e.IsDirectory || e.IsSymlink) && HfCacheRules.RepoIdOf(e.Name) is not null)
            .OrderBy(e => e.Name, StringComparer.OrdinalIgnoreCase)];

    private static async Task<(IReadOnlyList<ContainerSummary> Containers, string? Problem)> ContainersAsync(SparkEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            return (await entry.Host.ListContainersAsync(cancellationToken).ConfigureAwait(false), null);
        }
        catch (SparkCommandException ex)
        {
            // Without the containers nobody can tell what runs from the cache: nothing is deletable then.
            return ([], $"the running containers could not be read ({ex.Message})");
        }
    }

    private static async Task<string> HubPathAsync(SparkEntry entry, CancellationToken cancellationToken) =>
        await entry.Host.ExpandHomeAsync($"{entry.Definition.HfCachePath.TrimEnd('/')}/hub", cancellationToken).ConfigureAwait(false);

    private SparkEntry Find(string spark) => fleet.Current.Find(spark) ?? throw new KeyNotFoundException($"No Spark is named '{spark}'.");

    [LoggerMessage(Level = LogLevel.Information, Message = "Weights cleanup on {Spark}: removed {Folder} ({Bytes} bytes) for {Actor}")]
    private partial void LogDeleted(string spark, string folder, long bytes, string actor);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Weights cleanup on {Spark}: removing {Folder} failed: {Reason}")]
    private partial void LogDeleteFailed(string spark, string folder, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Weights cleanup on {Spark}: measuring {Folder} failed: {Reason}")]
    private partial void LogMeasureFailed(string spark, string folder, string reason);
}
