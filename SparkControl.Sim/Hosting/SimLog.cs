using System.Runtime.CompilerServices;

namespace SparkControl.Sim.Hosting;

/// <summary>A container's log: timestamped lines, read by tail/since or followed live until the container stops.</summary>
internal sealed class SimLog(TimeProvider time)
{
    private readonly object _gate = new();
    private readonly List<(DateTimeOffset At, string Line)> _lines = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    public void Append(string line)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _lines.Add((time.GetUtcNow(), line));
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>Marks the end of this run's output; followers stop once they have read everything.</summary>
    public void Close()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _closed = true;
            changed = _changed;
        }

        changed.TrySetResult();
    }

    /// <summary>A restarted container appends to the same log, as Docker's does.</summary>
    public void Reopen()
    {
        lock (_gate)
        {
            _closed = false;
        }
    }

    public IReadOnlyList<string> Read(int? tail, DateTimeOffset? since)
    {
        lock (_gate)
        {
            IEnumerable<(DateTimeOffset At, string Line)> lines = _lines;
            if (since is { } from)
            {
                lines = lines.Where(l => l.At >= from);
            }

            var selected = lines.Select(l => l.Line).ToList();
            return tail is { } n && selected.Count > n ? selected[^n..] : selected;
        }
    }

    public async IAsyncEnumerable<string> FollowAsync(int? tail, DateTimeOffset? since, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int next;
        List<string> initial;
        lock (_gate)
        {
            initial = [.. Read(tail, since)];
            next = _lines.Count;
        }

        foreach (var line in initial)
        {
            yield return line;
        }

        while (true)
        {
            Task changed;
            List<string> fresh;
            bool closed;
            lock (_gate)
            {
                fresh = _lines.Skip(next).Select(l => l.Line).ToList();
                next = _lines.Count;
                changed = _changed.Task;
                closed = _closed;
            }

            foreach (var line in fresh)
            {
                yield return line;
            }

            if (closed)
            {
                yield break;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
