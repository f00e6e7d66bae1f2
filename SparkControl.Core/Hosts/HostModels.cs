using SparkControl.Core.Collections;

namespace SparkControl.Core.Hosts;

/// <summary>One entry of a directory listing on a Spark.</summary>
public sealed record DirectoryEntry(string Name, bool IsDirectory, bool IsSymlink, long SizeBytes);

/// <summary>Size and free space of the file system holding a path (<c>df -B1</c>).</summary>
public sealed record DiskSpace(long TotalBytes, long AvailableBytes, string MountPoint);

/// <summary>Progress of <c>hf download</c>: bytes in the repo's cache folder against the expected total.</summary>
public sealed record DownloadProgress(long BytesDone, long? BytesTotal, bool Completed)
{
    public double? Fraction => BytesTotal is > 0 ? Math.Clamp(BytesDone / (double)BytesTotal.Value, 0, 1) : null;
}

/// <summary>What to download into a Spark's HF cache.</summary>
public sealed record HfDownload(string Repo, string? Revision, string HfCachePath, long? ExpectedBytes)
{
    public string CacheFolder => $"{HfCachePath.TrimEnd('/')}/hub/models--{Repo.Replace("/", "--", StringComparison.Ordinal)}";
}

/// <summary>What launch-cluster.sh should run: the <c>vllm serve</c> argv plus the container's extra volumes and environment.</summary>
public sealed record LaunchClusterStart
{
    public required ValueArray<string> ServeCommand { get; init; }
    public required string HfCachePath { get; init; }
    public ValueArray<BindMount> Volumes { get; init; }
    public ValueArray<KeyValuePair<string, string>> Environment { get; init; }

    /// <summary>A 0600 env file on the Spark with secrets, passed as <c>--env-file</c> through VLLM_SPARK_EXTRA_DOCKER_ARGS.</summary>
    public string? EnvFile { get; init; }

    /// <summary>Container labels (the panel's own, so a restarted panel recognizes the model), also passed through VLLM_SPARK_EXTRA_DOCKER_ARGS.</summary>
    public ValueArray<KeyValuePair<string, string>> Labels { get; init; }
}

/// <summary>What launch-cluster.sh's container is doing on each node.</summary>
public sealed record ClusterState(string Container, IReadOnlyDictionary<string, bool> RunningByNode, string Report)
{
    public bool AnyRunning => RunningByNode.Values.Any(r => r);
}

/// <summary>What a Spark runs: OS, kernel, driver, CUDA and Docker versions, and how long it has been up.</summary>
public sealed record HostFacts(string Hostname, string Os, string Kernel, string Architecture, TimeSpan? Uptime, string? DockerVersion, string? DriverVersion, string? CudaVersion, string? Gpu)
{
    /// <summary>Reads the <c>key=value</c> lines the facts script prints.</summary>
    public static HostFacts Parse(string output)
    {
        var values = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0])
            .ToDictionary(g => g.Key, g => g.First()[1].Trim());
        string? Value(string key) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
        var uptime = double.TryParse(Value("uptime"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        return new HostFacts(Value("hostname") ?? "?", Value("os") ?? "unknown", Value("kernel") ?? "unknown", Value("arch") ?? "unknown", uptime, Value("docker"), Value("driver"), Value("cuda"), Value("gpu"));
    }

    /// <summary>The script that prints the facts; constant, so nothing from outside reaches the shell.</summary>
    public const string Script = """
        printf 'hostname=%s\n' "$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
        if [ -r /etc/os-release ]; then . /etc/os-release; fi
        printf 'os=%s\n' "${PRETTY_NAME:-}"
        printf 'kernel=%s\n' "$(uname -r)"
        printf 'arch=%s\n' "$(uname -m)"
        printf 'uptime=%s\n' "$(cut -d' ' -f1 /proc/uptime)"
        printf 'docker=%s\n' "$(docker version --format '{{.Server.Version}}' 2>/dev/null)"
        printf 'driver=%s\n' "$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)"
        printf 'cuda=%s\n' "$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -n 1)"
        printf 'gpu=%s\n' "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)"
        """;
}
