using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Storage;

/// <summary>Something the panel could not save: what (a feature or a file), where, why, and since when.</summary>
public sealed record StorageProblem(string What, string Path, string Reason, DateTimeOffset Since);

/// <summary>
/// What the panel cannot save right now. Every write to the database and the data directory reports here how it went,
/// so a read-only volume or a full disk is a banner and a line in <c>/healthz</c>, never a stopped app; a write that
/// works again clears its problem. Logged once when a problem starts and once when it ends, not per failed write.
/// </summary>
public sealed partial class StorageHealth(TimeProvider time, ILogger<StorageHealth> logger)
{
    private readonly SnapshotStream<ImmutableList<StorageProblem>> _stream = new(ImmutableList<StorageProblem>.Empty, time);

    public ImmutableList<StorageProblem> Current => _stream.Current.Value;

    public IAsyncEnumerable<Versioned<ImmutableList<StorageProblem>>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    public void Failed(string what, string path, Exception exception) => Failed(what, path, DataDirectory.Describe(exception));

    public void Failed(string what, string path, string reason)
    {
        var started = false;
        _stream.Publish(problems =>
        {
            var existing = problems.FirstOrDefault(p => p.What == what);
            if (existing is not null && existing.Reason == reason && existing.Path == path)
            {
                return problems;
            }

            started = existing is null;
            var problem = new StorageProblem(what, path, reason, existing?.Since ?? time.GetUtcNow());
            return existing is null ? problems.Add(problem) : problems.Replace(existing, problem);
        });
        if (started)
        {
            LogFailing(what, path, reason);
        }
    }

    public void Succeeded(string what)
    {
        StorageProblem? ended = null;
        _stream.Publish(problems =>
        {
            ended = problems.FirstOrDefault(p => p.What == what);
            return ended is null ? problems : problems.Remove(ended);
        });
        if (ended is not null)
        {
            LogRecovered(what, ended.Path);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot save {What} to {Path}: {Reason}. The panel goes on without it until the data directory is writable again.")]
    private partial void LogFailing(string what, string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Saving {What} to {Path} works again")]
    private partial void LogRecovered(string what, string path);
}
