namespace SparkControl.Sim.Hosting;

/// <summary>
/// The simulated Spark's file system, as far as the panel looks at it: directories with their size, and the files
/// in them (so model directories can be recognized).
/// </summary>
public sealed class SimDisk
{
    private readonly object _gate = new();
    private readonly Dictionary<string, (long Size, string[] Files)> _directories = new(StringComparer.Ordinal);

    public long CapacityBytes { get; init; } = 3_700_000_000_000;

    public void AddDirectory(string path, long sizeBytes, params string[] files)
    {
        lock (_gate)
        {
            _directories[path.TrimEnd('/')] = (sizeBytes, files);
        }
    }

    public void Remove(string path)
    {
        lock (_gate)
        {
            _directories.Remove(path.TrimEnd('/'));
        }
    }

    public bool DirectoryExists(string path)
    {
        var normalized = path.TrimEnd('/');
        lock (_gate)
        {
            return _directories.Keys.Any(d => d == normalized || d.StartsWith(normalized + "/", StringComparison.Ordinal));
        }
    }

    public IReadOnlyList<string> FilesIn(string path)
    {
        lock (_gate)
        {
            return _directories.TryGetValue(path.TrimEnd('/'), out var entry) ? entry.Files : [];
        }
    }

    /// <summary>Bytes at or under <paramref name="path"/>, or null when nothing is there (like <c>du</c> failing).</summary>
    public long? Usage(string path)
    {
        var normalized = path.TrimEnd('/');
        lock (_gate)
        {
            var matches = _directories.Where(d => d.Key == normalized || d.Key.StartsWith(normalized + "/", StringComparison.Ordinal)).ToList();
            return matches.Count == 0 ? null : matches.Sum(d => d.Value.Size);
        }
    }

    public long UsedBytes
    {
        get
        {
            lock (_gate)
            {
                return _directories.Values.Sum(d => d.Size);
            }
        }
    }
}
