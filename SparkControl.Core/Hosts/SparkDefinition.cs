using System.Collections.Immutable;
using SparkControl.Core.Collections;

namespace SparkControl.Core.Hosts;

/// <summary>A Spark's part in a two-Spark cluster.</summary>
public enum SparkRole
{
    Standalone,
    Head,
    Worker,
}

/// <summary>How eugr's launch-cluster.sh is reached on a head Spark.</summary>
public sealed record LaunchClusterSettings
{
    /// <summary>Absolute path of launch-cluster.sh on the Spark.</summary>
    public required string Script { get; init; }

    /// <summary>The node addresses for <c>-n</c>, head first; empty means solo.</summary>
    public ValueArray<string> Nodes { get; init; } = [];

    /// <summary>The container name (<c>--name</c>); the script's own default is vllm_node.</summary>
    public string ContainerName { get; init; } = "vllm_node";

    /// <summary>The image (<c>-t</c>); null keeps the script's default.</summary>
    public string? Image { get; init; }
}

/// <summary>One Spark as configured in <c>sparks.yaml</c> (documented in the README, "Configuring real Sparks").</summary>
public sealed record SparkDefinition
{
    public required string Name { get; init; }
    public required string Host { get; init; }
    public int Port { get; init; } = 22;
    public required string User { get; init; }

    /// <summary>Private key file (OpenSSH ed25519 or RSA) on the machine running the panel.</summary>
    public string? KeyPath { get; init; }

    public SparkRole Role { get; init; } = SparkRole.Standalone;

    /// <summary>HF cache root on the Spark (the directory holding <c>hub/</c>), mounted into model containers.</summary>
    public string HfCachePath { get; init; } = "~/.cache/huggingface";

    /// <summary>Directories under which local models may live; paths outside are refused.</summary>
    public ValueArray<string> ModelRoots { get; init; } = [];

    /// <summary>Directories put first on PATH for every command on this Spark (tools and, in tests, stand-ins).</summary>
    public ValueArray<string> PathPrefix { get; init; } = [];

    /// <summary><c>--gpus</c> for model containers: <c>all</c>, or <c>none</c> where no NVIDIA runtime exists.</summary>
    public string Gpus { get; init; } = "all";

    /// <summary>Docker network mode for model containers; vLLM on a Spark runs with the host's network.</summary>
    public string NetworkMode { get; init; } = "host";

    /// <summary>The image for vLLM models that do not name their own.</summary>
    public string VllmImage { get; init; } = "nvcr.io/nvidia/vllm:25.10-py3";

    /// <summary>Extra bind mounts for every model container, <c>host:container[:ro]</c>.</summary>
    public ValueArray<string> ExtraMounts { get; init; } = [];

    public LaunchClusterSettings? LaunchCluster { get; init; }

    public bool GpusEnabled => !string.Equals(Gpus, "none", StringComparison.OrdinalIgnoreCase);
}
