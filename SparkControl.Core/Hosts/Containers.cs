using System.Collections.Immutable;

namespace SparkControl.Core.Hosts;

/// <summary>Docker's container states (<c>docker ps</c> <c>State</c>).</summary>
public enum ContainerStatus
{
    Unknown,
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

public static class ContainerStatusNames
{
    public static ContainerStatus Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "created" => ContainerStatus.Created,
        "running" => ContainerStatus.Running,
        "paused" => ContainerStatus.Paused,
        "restarting" => ContainerStatus.Restarting,
        "removing" => ContainerStatus.Removing,
        "exited" => ContainerStatus.Exited,
        "dead" => ContainerStatus.Dead,
        _ => ContainerStatus.Unknown,
    };

    public static string ToDockerName(this ContainerStatus status) => status.ToString().ToLowerInvariant();
}

/// <summary>One row of <c>docker ps -a</c>.</summary>
public sealed record ContainerSummary(
    string Id,
    string Name,
    string Image,
    ContainerStatus State,
    string Status,
    ImmutableDictionary<string, string> Labels)
{
    /// <summary>
    /// The entrypoint and arguments as <c>docker ps --no-trunc</c> prints them (empty when unknown): the weights cleanup
    /// reads the repo a container started by hand serves from it.
    /// </summary>
    public string Command { get; init; } = string.Empty;
}

/// <summary>What <c>docker inspect</c> says about a container.</summary>
public sealed record ContainerInfo
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Image { get; init; }
    public string? ImageId { get; init; }
    public required ContainerStatus Status { get; init; }
    public bool Running => Status == ContainerStatus.Running;
    public bool OomKilled { get; init; }
    public int ExitCode { get; init; }
    public string? Error { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Health { get; init; }
    public int RestartCount { get; init; }

    /// <summary><c>HostConfig.AutoRemove</c>: started with <c>--rm</c>, so dockerd removes it (a moment) after it exits.</summary>
    public bool AutoRemove { get; init; }

    /// <summary><c>HostConfig.Memory</c> in bytes; null when unset (0).</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary><c>HostConfig.MemorySwap</c> in bytes; null when unset (0), -1 for unlimited.</summary>
    public long? MemorySwapLimitBytes { get; init; }

    public ImmutableDictionary<string, string> Labels { get; init; } = ImmutableDictionary<string, string>.Empty;
}

/// <summary>A bind mount: <paramref name="HostPath"/> on the Spark at <paramref name="ContainerPath"/>.</summary>
public sealed record BindMount(string HostPath, string ContainerPath, bool ReadOnly);

/// <summary>
/// Everything needed to start one detached container. Secrets never appear here: they reach the container through
/// <see cref="EnvFile"/>, a 0600 file on the Spark.
/// </summary>
public sealed record ContainerLaunchSpec
{
    public required string Name { get; init; }
    public required string Image { get; init; }

    /// <summary>Overrides the image's entrypoint (e.g. <c>vllm</c>) when set.</summary>
    public string? Entrypoint { get; init; }

    /// <summary>The arguments after the image (for vLLM: <c>serve &lt;model&gt; --port ...</c>).</summary>
    public ImmutableArray<string> Command { get; init; } = [];

    /// <summary>Non-secret environment variables.</summary>
    public ImmutableSortedDictionary<string, string> Environment { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Path on the Spark of a 0600 env file holding secrets (HF_TOKEN, NGC_API_KEY).</summary>
    public string? EnvFile { get; init; }

    public ImmutableArray<BindMount> Mounts { get; init; } = [];
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary><c>--gpus</c> value (<c>all</c>), or null where no NVIDIA runtime exists.</summary>
    public string? Gpus { get; init; } = "all";

    public bool HostNetwork { get; init; } = true;
    public bool HostIpc { get; init; } = true;
    public bool RemoveOnExit { get; init; }
    public long? MemoryLimitBytes { get; init; }
    public long? MemorySwapLimitBytes { get; init; }

    /// <summary><c>--shm-size</c> in bytes (NIM wants a large /dev/shm); null keeps Docker's default.</summary>
    public long? ShmSizeBytes { get; init; }
}

/// <summary>Which log lines to read: the last <see cref="Tail"/> lines and/or those since <see cref="Since"/>.</summary>
/// <param name="Timestamps">Each line starts with the daemon's time (<c>--timestamps</c>); see <see cref="Timestamped"/>.</param>
public sealed record LogQuery(int? Tail = 200, DateTimeOffset? Since = null, bool Timestamps = false)
{
    /// <summary>The most lines a client may ask for at once (the API and the download); more would be held in memory.</summary>
    public const int MaxTail = 10_000;

    public static LogQuery Last(int lines) => new(lines);

    /// <summary>A client's <c>tail</c>: null for the default, else 0 to <see cref="MaxTail"/>.</summary>
    public static string? CheckTail(int? tail) =>
        tail is null or (>= 0 and <= MaxTail) ? null : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"tail must be between 0 and {MaxTail:N0}, not {tail}");
}

/// <summary>Labels the panel puts on the containers it starts, so a restarted panel can tell what runs where.</summary>
public static class ContainerLabels
{
    public const string Role = "sparkcontrol.role";
    public const string Model = "sparkcontrol.model";
    public const string ServedName = "sparkcontrol.served-name";
    public const string Port = "sparkcontrol.port";
    public const string Adapters = "sparkcontrol.adapters";

    public const string ModelRole = "model";
}
