using SparkControl.Core.Hosts;

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

    /// <summary>Removes a directory and everything under it, like <c>rm -rf</c>.</summary>
    public void RemoveTree(string path)
    {
        var normalized = path.TrimEnd('/');
        lock (_gate)
        {
            foreach (var key in _directories.Keys.Where(d => d == normalized || d.StartsWith(normalized + "/", StringComparison.Ordinal)).ToList())
            {
                _directories.Remove(key);
            }

            foreach (var key in _files.Keys.Where(f => f.StartsWith(normalized + "/", StringComparison.Ordinal)).ToList())
            {
                _files.Remove(key);
            }
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

    private readonly Dictionary<string, string> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);

    /// <summary>A small text file (config.json, adapter_config.json) whose content can be read.</summary>
    public void AddFile(string path, string content)
    {
        lock (_gate)
        {
            _files[path] = content;
        }
    }

    /// <summary>A symlink: <paramref name="path"/> resolves to <paramref name="target"/>.</summary>
    public void AddLink(string path, string target)
    {
        lock (_gate)
        {
            _links[path.TrimEnd('/')] = target.TrimEnd('/');
        }
    }

    public string? ReadFile(string path)
    {
        lock (_gate)
        {
            return _files.GetValueOrDefault(Resolve(path));
        }
    }

    public bool Exists(string path)
    {
        var resolved = Resolve(path);
        lock (_gate)
        {
            return _files.ContainsKey(resolved) || DirectoryExists(resolved)
                || _directories.Any(d => d.Value.Files.Any(f => $"{d.Key}/{f}" == resolved));
        }
    }

    /// <summary>The path with symlinks resolved, as <c>realpath</c> would print it.</summary>
    public string Resolve(string path)
    {
        var normalized = path.TrimEnd('/');
        lock (_gate)
        {
            foreach (var (link, target) in _links)
            {
                if (normalized == link || normalized.StartsWith(link + "/", StringComparison.Ordinal))
                {
                    return target + normalized[link.Length..];
                }
            }
        }

        return normalized;
    }

    /// <summary>The directory's direct entries: files listed for it and sub-directories.</summary>
    public IReadOnlyList<DirectoryEntry> List(string path)
    {
        var directory = Resolve(path);
        lock (_gate)
        {
            var entries = new Dictionary<string, DirectoryEntry>(StringComparer.Ordinal);
            if (_directories.TryGetValue(directory, out var own))
            {
                foreach (var file in own.Files)
                {
                    entries[file] = new DirectoryEntry(file, false, false, own.Files.Length == 0 ? 0 : own.Size / own.Files.Length);
                }
            }

            foreach (var file in _files.Keys.Where(f => Path.GetDirectoryName(f) == directory))
            {
                entries[Path.GetFileName(file)] = new DirectoryEntry(Path.GetFileName(file), false, false, _files[file].Length);
            }

            foreach (var sub in _directories.Keys.Where(d => d.StartsWith(directory + "/", StringComparison.Ordinal)))
            {
                var name = sub[(directory.Length + 1)..].Split('/')[0];
                entries.TryAdd(name, new DirectoryEntry(name, true, false, 4096));
            }

            return [.. entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal)];
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
