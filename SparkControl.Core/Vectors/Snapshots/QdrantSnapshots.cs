using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Qdrant.Client.Grpc;
using SparkControl.Core.Audit;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Units;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Vectors.Snapshots;

/// <summary>A snapshot action that cannot go ahead (nothing kept to restore, another minor version): 409 with why.</summary>
public sealed class SnapshotRefusedException(string message) : Exception(message);

/// <summary>
/// Qdrant snapshots taken to the panel's disk: Qdrant makes the snapshot, the panel checks its disk has room, downloads
/// it over REST (streamed, SHA-256 checked against Qdrant's checksum, kept only when whole), records the run, and keeps
/// what the service's schedule says to keep, deleting the rest on Qdrant and here. A kept copy restores a collection
/// by upload (priority <c>snapshot</c>, since Qdrant cannot reach the panel's disk by URL).
/// </summary>
public sealed partial class QdrantSnapshots(
    QdrantConnections connections,
    SnapshotStore store,
    DataDirectory data,
    IOptionsMonitor<QdrantOptions> options,
    IHttpClientFactory http,
    AuditLog audit,
    TimeProvider time,
    ILogger<QdrantSnapshots> logger)
{
    public const string HttpClientName = "qdrant-rest";

    /// <summary>Room left on the panel's disk beyond the snapshot itself.</summary>
    public const long DiskMargin = 1L << 20;

    private readonly ConcurrentDictionary<long, SnapshotRecord> _running = new();
    private readonly Lock _ids = new();
    private long _lastId;

    // The newest ended run of each service's collection, read from the store once and then kept as runs end, so the
    // dashboard's alerts do not read every recorded run whenever one ends.
    private readonly Lazy<ConcurrentDictionary<(string Service, string Collection), SnapshotRecord>> _lastEnded =
        new(() => new(store.LastEnded().ToDictionary(r => (r.Service, r.Collection))));

    /// <summary>Raised when a run starts, moves on, or ends (the page redraws).</summary>
    public event Action? Changed;

    /// <summary>Raised when a run has ended, well or not (the dashboard's alerts look again).</summary>
    public event Action? RunEnded;

    public string Folder => string.IsNullOrEmpty(options.CurrentValue.SnapshotDirectory) ? data.Resolve("qdrant-snapshots") : options.CurrentValue.SnapshotDirectory;

    public SnapshotSchedule ScheduleOf(ServiceDefinition service) => store.Schedules().GetValueOrDefault(service.Key) ?? SnapshotSchedule.Off;

    public void SaveSchedule(ServiceDefinition service, SnapshotSchedule schedule, AuditActor actor)
    {
        if (schedule.Check() is { Count: > 0 } errors)
        {
            throw new ValidationFailedException(errors);
        }

        store.SaveSchedule(service.Key, schedule);
        audit.Record(actor, "qdrant.snapshot-schedule", service.Key, schedule.Enabled ? $"{schedule.Cron ?? schedule.Interval?.ToString()} {schedule.Scope}, keep {schedule.KeepLast} and {schedule.KeepDays} days" : "off");
        ScheduleChanged?.Invoke(service.Key);
    }

    /// <summary>Raised with the service's key when its schedule is saved (the scheduler takes the new slots).</summary>
    public event Action<string>? ScheduleChanged;

    /// <summary>Every run of the service, newest first: those going on now as they stand, the rest as recorded.</summary>
    public IReadOnlyList<SnapshotRecord> Runs(ServiceDefinition service)
    {
        var live = _running.Values.Where(r => r.Service == service.Key).ToList();
        return [.. live.Concat(store.Runs(service.Key).Where(r => !_running.ContainsKey(r.Id))).OrderByDescending(r => r.Id)];
    }

    /// <summary>The newest failed run of each collection that has not succeeded since: the dashboard's snapshot alerts.</summary>
    public IReadOnlyList<SnapshotRecord> Failures()
    {
        var services = connections.Services().Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        return [.. _lastEnded.Value.Values.Where(r => r.Status == SnapshotRunStatus.Failed && services.Contains(r.Service))
            .OrderBy(r => r.Service, StringComparer.Ordinal).ThenBy(r => r.Collection, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Starts snapshots of <paramref name="scope"/> (every collection, one, or the full storage): the runs are recorded
    /// at once and go on in the background, one after another. Returns them.
    /// </summary>
    public async Task<(IReadOnlyList<SnapshotRecord> Runs, Task Done)> StartAsync(ServiceDefinition service, string scope, string trigger, CancellationToken cancellationToken)
    {
        if (new SnapshotSchedule { Scope = scope }.Check().FirstOrDefault(e => e.Field == "scope") is { } bad)
        {
            throw new ValidationFailedException([bad]);
        }

        var connection = connections.For(service);
        var version = (await connection.CallAsync(c => c.HealthAsync(cancellationToken)).ConfigureAwait(false)).Version;
        IReadOnlyList<string> collections = scope switch
        {
            SnapshotSchedule.Full => [SnapshotSchedule.Full],
            SnapshotSchedule.EachCollection => [.. (await connection.CallAsync(c => c.ListCollectionsAsync(cancellationToken)).ConfigureAwait(false)).Order(StringComparer.Ordinal)],
            _ => await connection.CallAsync(c => c.CollectionExistsAsync(scope, cancellationToken)).ConfigureAwait(false)
                ? [scope]
                : throw new KeyNotFoundException($"Qdrant {service.Key} has no collection '{scope}'"),
        };
        var runs = collections.Select(c => new SnapshotRecord { Id = NextId(), Service = service.Key, Collection = c, Trigger = trigger, StartedAt = time.GetUtcNow(), QdrantVersion = version }).ToList();
        foreach (var run in runs)
        {
            Update(run);
        }

        var done = Task.Run(() => RunAllAsync(connection, runs), CancellationToken.None);
        return (runs, done);
    }

    private async Task RunAllAsync(QdrantConnection connection, IReadOnlyList<SnapshotRecord> runs)
    {
        foreach (var run in runs)
        {
            var ended = await RunOneAsync(connection, run).ConfigureAwait(false);
            _running.TryRemove(run.Id, out _);
            _lastEnded.Value[(ended.Service, ended.Collection)] = ended;
            if (ended.Status == SnapshotRunStatus.Done)
            {
                await KeepAsync(connection, run.Collection).ConfigureAwait(false);
            }

            Changed?.Invoke();
            RunEnded?.Invoke();
        }
    }

    private async Task<SnapshotRecord> RunOneAsync(QdrantConnection connection, SnapshotRecord run)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromHours(2));
            var description = run.Collection == SnapshotSchedule.Full
                ? await connection.CallAsync(c => c.CreateFullSnapshotAsync(timeout.Token)).ConfigureAwait(false)
                : await connection.CallAsync(c => c.CreateSnapshotAsync(run.Collection, timeout.Token)).ConfigureAwait(false);
            run = Update(run with { Name = description.Name, Size = description.Size, Checksum = description.HasChecksum ? description.Checksum : null });
            var file = await DownloadAsync(connection, run, timeout.Token).ConfigureAwait(false);
            return Update(run with { Status = SnapshotRunStatus.Done, File = file, EndedAt = time.GetUtcNow() });
        }
        catch (Exception ex) when (ex is QdrantCallException or SnapshotRefusedException or HttpRequestException or IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            LogRunFailed(run.Service, run.Collection, ex.Message);
            if (run.Name is not null)
            {
                // The panel keeps no copy of it, so it would only fill Qdrant's disk, slot after slot.
                await DeleteQuietlyAsync(connection, run).ConfigureAwait(false);
            }

            return Update(run with { Status = SnapshotRunStatus.Failed, Error = ex.Message, EndedAt = time.GetUtcNow() });
        }
    }

    /// <summary>
    /// Ends the runs a panel that stopped mid-run left recorded as running: each is recorded failed (the dashboard
    /// alerts), its snapshot is deleted on Qdrant (the panel has no copy of it), and half-downloaded files are removed.
    /// The scheduler calls this once as it starts, before any run of its own.
    /// </summary>
    public async Task EndInterruptedAsync()
    {
        // The leftovers go first, as a failed run's do: once a run reads failed, nothing of it is left anywhere.
        if (Directory.Exists(Folder))
        {
            foreach (var partial in Directory.EnumerateFiles(Folder, "*.partial", SearchOption.AllDirectories))
            {
                File.Delete(partial);
            }
        }

        foreach (var run in store.Unfinished().Where(r => !_running.ContainsKey(r.Id)))
        {
            if (run.Name is not null && connections.Services().FirstOrDefault(s => s.Key == run.Service) is { } service)
            {
                await DeleteQuietlyAsync(connections.For(service), run).ConfigureAwait(false);
            }

            var ended = Update(run with { Status = SnapshotRunStatus.Failed, Error = "The panel stopped during this run, so it was not finished", EndedAt = time.GetUtcNow() });
            _lastEnded.Value[(ended.Service, ended.Collection)] = ended;
        }
    }

    private async Task DeleteQuietlyAsync(QdrantConnection connection, SnapshotRecord run)
    {
        try
        {
            await DeleteOnQdrantAsync(connection, run).ConfigureAwait(false);
        }
        catch (QdrantCallException ex)
        {
            LogPruneFailed(run.Service, run.Name!, ex.Message);
        }
    }

    /// <summary>
    /// Streams the snapshot to <c>.partial</c> while hashing it, checks the hash against Qdrant's checksum, and only then
    /// gives it its name; the disk's room is checked before the first byte. Returns the path under <see cref="Folder"/>.
    /// </summary>
    private async Task<string> DownloadAsync(QdrantConnection connection, SnapshotRecord run, CancellationToken cancellationToken)
    {
        var relative = Path.Combine(Safe(connection.Service.Spark), Safe(connection.Service.Name), Safe(run.Collection), Safe(run.Name!));
        var path = Path.Combine(Folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var free = new DriveInfo(Path.GetDirectoryName(path)!).AvailableFreeSpace;
        if (run.Size is { } size && size + DiskMargin > free)
        {
            throw new SnapshotRefusedException($"The snapshot is {ByteSize.HumanBinary(size)} but {Folder} has {ByteSize.HumanBinary(free)} free; it was not downloaded (free space, or keep fewer snapshots)");
        }

        var route = run.Collection == SnapshotSchedule.Full ? $"snapshots/{Uri.EscapeDataString(run.Name!)}" : $"collections/{Uri.EscapeDataString(run.Collection)}/snapshots/{Uri.EscapeDataString(run.Name!)}";
        using var request = connection.RestRequest(HttpMethod.Get, route);
        using var response = await http.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Qdrant {connection.Service.Key} answered {(int)response.StatusCode} to the snapshot's download");
        }

        var partial = path + ".partial";
        try
        {
            var hash = await CopyHashingAsync(response, partial, run, cancellationToken).ConfigureAwait(false);
            if (run.Checksum is { } expected && !string.Equals(expected, hash, StringComparison.OrdinalIgnoreCase))
            {
                throw new SnapshotRefusedException($"The download of {run.Name} does not match Qdrant's checksum (Qdrant: {expected}, downloaded: {hash}); it was not kept");
            }

            File.Move(partial, path, overwrite: true);
            return relative;
        }
        finally
        {
            File.Delete(partial);
        }
    }

    private async Task<string> CopyHashingAsync(HttpResponseMessage response, string partial, SnapshotRecord run, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        var done = 0L;
        var reported = time.GetTimestamp();
        var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var sourceScope = source.ConfigureAwait(false);
        var target = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        await using var targetScope = target.ConfigureAwait(false);
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            sha.AppendData(buffer, 0, read);
            done += read;
            if (time.GetElapsedTime(reported) > TimeSpan.FromMilliseconds(200))
            {
                reported = time.GetTimestamp();
                Update(run with { Downloaded = done }, persist: false);
            }
        }

        Update(run with { Downloaded = done }, persist: false);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>
    /// Keeps the newest <see cref="SnapshotSchedule.KeepLast"/> copies of the collection and any younger than
    /// <see cref="SnapshotSchedule.KeepDays"/>; the rest are deleted on Qdrant (one already gone there is no error) and here.
    /// </summary>
    public async Task KeepAsync(QdrantConnection connection, string collection)
    {
        var schedule = ScheduleOf(connection.Service);
        var now = time.GetUtcNow();
        var kept = store.Runs(connection.Service.Key).Where(r => r.Collection == collection && r.IsKept).OrderByDescending(r => r.StartedAt).ThenByDescending(r => r.Id).ToList();
        foreach (var (run, index) in kept.Select((r, i) => (r, i)))
        {
            if (index < schedule.KeepLast || (schedule.KeepDays > 0 && now - run.StartedAt < TimeSpan.FromDays(schedule.KeepDays)))
            {
                continue;
            }

            try
            {
                await DeleteOnQdrantAsync(connection, run).ConfigureAwait(false);
                File.Delete(Path.Combine(Folder, run.File!));
                Update(run with { DeletedAt = now });
            }
            catch (Exception ex) when (ex is QdrantCallException or IOException or UnauthorizedAccessException)
            {
                LogPruneFailed(run.Service, run.Name ?? "?", ex.Message);
            }
        }
    }

    private static async Task DeleteOnQdrantAsync(QdrantConnection connection, SnapshotRecord run)
    {
        try
        {
            await connection.CallAsync(async c =>
            {
                if (run.Collection == SnapshotSchedule.Full)
                {
                    await c.DeleteFullSnapshotAsync(run.Name!).ConfigureAwait(false);
                }
                else
                {
                    await c.DeleteSnapshotAsync(run.Collection, run.Name!).ConfigureAwait(false);
                }

                return true;
            }).ConfigureAwait(false);
        }
        catch (QdrantCallException ex) when (ex.Status == StatusCode.NotFound)
        {
            // Deleted on Qdrant by hand, or lost with its disk: the panel's copy still goes.
        }
    }

    /// <summary>A kept copy's file, for download from the browser; null when the run kept none.</summary>
    public string? FileOf(ServiceDefinition service, long id) =>
        Runs(service).FirstOrDefault(r => r.Id == id) is { IsKept: true, File: { } file } ? Path.Combine(Folder, file) : null;

    /// <summary>
    /// Restores <paramref name="target"/> (default: the snapshot's own collection) from the panel's copy of run
    /// <paramref name="id"/>: refused before any byte is sent when there is no whole copy, when it is a full snapshot
    /// (Qdrant restores those only at start-up), or when Qdrant runs another minor version than the one that took it.
    /// </summary>
    public async Task RestoreAsync(ServiceDefinition service, long id, string? target, AuditActor actor, CancellationToken cancellationToken)
    {
        var run = Runs(service).FirstOrDefault(r => r.Id == id) ?? throw new KeyNotFoundException($"No snapshot run {id} of Qdrant {service.Key}");
        var collection = target ?? run.Collection;
        if (Validators.Name(collection, "collection") is { } badName)
        {
            throw new ValidationFailedException([new FieldError("collection", badName)]);
        }

        var path = FileOf(service, id) is { } kept && File.Exists(kept) ? kept : throw new SnapshotRefusedException($"Snapshot run {id} has no copy on the panel's disk to restore from");
        if (run.Collection == SnapshotSchedule.Full)
        {
            throw new SnapshotRefusedException("A full snapshot restores only when Qdrant starts (qdrant --storage-snapshot); restore a collection's snapshot instead");
        }

        var connection = connections.For(service);
        var version = (await connection.CallAsync(c => c.HealthAsync(cancellationToken)).ConfigureAwait(false)).Version;
        if (run.QdrantVersion is not { } taken || !SameMinor(taken, version))
        {
            throw new SnapshotRefusedException($"The snapshot was taken by Qdrant {run.QdrantVersion ?? "of an unknown version"}; Qdrant {service.Key} runs {version}, and snapshots restore only within one minor version");
        }

        await UploadAsync(connection, collection, path, run.Checksum, cancellationToken).ConfigureAwait(false);
        audit.Record(actor, "qdrant.restore", service.Key, $"{collection} from {run.Name}");
    }

    private async Task UploadAsync(QdrantConnection connection, string collection, string path, string? checksum, CancellationToken cancellationToken)
    {
        var query = "?priority=snapshot" + (checksum is null ? string.Empty : "&checksum=" + Uri.EscapeDataString(checksum));
        using var request = connection.RestRequest(HttpMethod.Post, $"collections/{Uri.EscapeDataString(collection)}/snapshots/upload{query}");
        var file = File.OpenRead(path);
        await using var fileScope = file.ConfigureAwait(false);
        using var form = new MultipartFormDataContent();
        var content = new StreamContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(content, "snapshot", Path.GetFileName(path));
        request.Content = form;
        using var response = await http.CreateClient(HttpClientName).SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new QdrantCallException(connection.Service.Key, response.StatusCode == HttpStatusCode.BadRequest ? StatusCode.InvalidArgument : StatusCode.Unknown,
                $"Qdrant {connection.Service.Key} refused the restore ({(int)response.StatusCode}): {Validators.Printable(body.Length > 400 ? body[..400] : body)}");
        }
    }

    public static bool SameMinor(string a, string b) =>
        a.Split('.') is [var aMajor, var aMinor, ..] && b.Split('.') is [var bMajor, var bMinor, ..] && aMajor == bMajor && aMinor == bMinor;

    private SnapshotRecord Update(SnapshotRecord run, bool persist = true)
    {
        if (run.Status == SnapshotRunStatus.Running)
        {
            _running[run.Id] = run;
        }

        if (persist)
        {
            store.Save(run);
        }

        Changed?.Invoke();
        return run;
    }

    private long NextId()
    {
        lock (_ids)
        {
            _lastId = Math.Max(_lastId + 1, store.NextId());
            return _lastId;
        }
    }

    /// <summary>A path part from a name Qdrant or the operator gave: no separators, no dot-only names.</summary>
    private static string Safe(string part) => part.Replace('/', '_').Replace('\\', '_') is var safe && safe.Trim('.').Length == 0 ? "_" + safe : safe;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Snapshot of {Service} {Collection} failed: {Reason}")]
    private partial void LogRunFailed(string service, string collection, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An old snapshot {Name} of {Service} could not be deleted: {Reason}")]
    private partial void LogPruneFailed(string service, string name, string reason);
}
