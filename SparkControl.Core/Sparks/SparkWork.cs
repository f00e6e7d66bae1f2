namespace SparkControl.Core.Sparks;

/// <summary>A Spark is busy: its settings are being saved, or work runs on it that its settings must not change under.</summary>
public sealed class SparkBusyException(string message) : InvalidOperationException(message);

/// <summary>
/// What runs on each Spark that a change of its settings would pull the connection from under (swaps, host actions),
/// and the saving of a Spark's settings. The two exclude each other: a Spark is not edited or removed while work runs
/// on it (the edit is refused, naming the work), and no work starts in the moment its settings are being saved.
/// </summary>
public sealed class SparkWork
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<string>> _running = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _editing = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Registers work on the Sparks until disposed; refused while one of them is being saved.</summary>
    public IDisposable Begin(IReadOnlyCollection<string> sparks, string what)
    {
        lock (_gate)
        {
            if (sparks.FirstOrDefault(_editing.Contains) is { } editing)
            {
                throw new SparkBusyException($"{editing}'s settings are being saved; try again in a moment.");
            }

            foreach (var spark in sparks)
            {
                if (!_running.TryGetValue(spark, out var list))
                {
                    _running[spark] = list = [];
                }

                list.Add(what);
            }
        }

        return new Release(() =>
        {
            lock (_gate)
            {
                foreach (var spark in sparks)
                {
                    if (_running.TryGetValue(spark, out var list) && list.Remove(what) && list.Count == 0)
                    {
                        _running.Remove(spark);
                    }
                }
            }
        });
    }

    /// <summary>What runs on the Spark, in words ("swap 1a2b3c to qwen3-8b"), or null.</summary>
    public string? Describe(string spark)
    {
        lock (_gate)
        {
            return _running.TryGetValue(spark, out var list) ? string.Join(" and ", list) : null;
        }
    }

    /// <summary>Holds off new work on the Spark while its settings are saved; refused while work runs on it.</summary>
    public IDisposable BeginEdit(string spark)
    {
        lock (_gate)
        {
            if (_running.TryGetValue(spark, out var list))
            {
                throw new SparkBusyException($"{spark} cannot be changed or removed while {string.Join(" and ", list)} runs on it; wait for it to end (or cancel it) and try again.");
            }

            _editing.Add(spark);
        }

        return new Release(() =>
        {
            lock (_gate)
            {
                _editing.Remove(spark);
            }
        });
    }

    private sealed class Release(Action release) : IDisposable
    {
        private Action? _release = release;

        public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
    }
}
