using System.Collections.Concurrent;

namespace SparkControl.Core.Streams;

/// <summary>
/// Long jobs the panel runs in the background (a NIM install, a copy between Sparks) as immutable statuses by id: the
/// API reads them at their Location, a form follows <see cref="Changed"/>.
/// </summary>
public sealed class JobTable<TStatus>(Func<TStatus, string> idOf, Func<TStatus, DateTimeOffset> startedAt)
    where TStatus : class
{
    private readonly ConcurrentDictionary<string, TStatus> _jobs = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Raised on every change of a job, from the job's own task.</summary>
    public event Action<TStatus>? Changed;

    public TStatus? Find(string id) => _jobs.GetValueOrDefault(id);

    /// <summary>Newest first.</summary>
    public IReadOnlyList<TStatus> All => [.. _jobs.Values.OrderByDescending(startedAt)];

    /// <summary>Adds <paramref name="job"/> unless <paramref name="conflict"/> finds one it may not run beside; returns that one instead.</summary>
    public TStatus? TryAdd(TStatus job, Func<IEnumerable<TStatus>, TStatus?> conflict)
    {
        lock (_gate)
        {
            if (conflict(_jobs.Values) is { } running)
            {
                return running;
            }

            _jobs[idOf(job)] = job;
            return null;
        }
    }

    public TStatus Update(string id, Func<TStatus, TStatus> change)
    {
        var updated = _jobs.AddOrUpdate(id, _ => throw new KeyNotFoundException(id), (_, current) => change(current));
        Changed?.Invoke(updated);
        return updated;
    }

    /// <summary>A new job id: 12 lower-case hex digits, as swaps have.</summary>
    public static string NewId() => Guid.NewGuid().ToString("N")[..12];
}
