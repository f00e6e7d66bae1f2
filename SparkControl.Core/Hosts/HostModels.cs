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
}

/// <summary>What launch-cluster.sh's container is doing on each node.</summary>
public sealed record ClusterState(string Container, IReadOnlyDictionary<string, bool> RunningByNode, string Report)
{
    public bool AnyRunning => RunningByNode.Values.Any(r => r);
}
