using System.Collections.Immutable;
using SparkControl.Core.Collections;

namespace SparkControl.Core.Catalog;

/// <summary>How a model is started: a plain <c>docker run</c> of a vLLM image, eugr's launch-cluster.sh, or an NVIDIA NIM container.</summary>
public enum ModelRuntime
{
    Vllm,
    LaunchCluster,
    Nim,
}

/// <summary>One Spark, or both Sparks with tensor parallel 2.</summary>
public enum ModelPlacement
{
    Single,
    Cluster,
}

/// <summary>What the model server does: generate text, or compute embeddings.</summary>
public enum ModelTask
{
    Generate,
    Embed,
}

/// <summary>Shipped in <c>models.yaml</c>, or added by an operator (<c>models.custom.yaml</c>).</summary>
public enum ModelOrigin
{
    Shipped,
    Custom,
    Demo,
}

/// <summary>Where the weights come from.</summary>
public abstract record ModelSource;

/// <summary>A Hugging Face repo, downloaded into the Spark's HF cache.</summary>
public sealed record HuggingFaceSource(string Repo, string? Revision = null) : ModelSource
{
    /// <summary>The cache folder name: <c>models--ORG--NAME</c>.</summary>
    public string CacheFolder => "models--" + Repo.Replace("/", "--", StringComparison.Ordinal);

    public override string ToString() => Revision is null ? Repo : $"{Repo}@{Revision}";
}

/// <summary>A directory that exists only on one Spark (a local fine-tune).</summary>
public sealed record LocalSource(string Spark, string Path) : ModelSource
{
    public override string ToString() => $"{Spark}:{Path}";
}

public static class ModelEnumNames
{
    public static string ToYaml(this ModelRuntime runtime) => runtime switch
    {
        ModelRuntime.Vllm => "vllm",
        ModelRuntime.LaunchCluster => "launch-cluster",
        ModelRuntime.Nim => "nim",
        _ => throw new ArgumentOutOfRangeException(nameof(runtime)),
    };

    public static ModelRuntime? ParseRuntime(string? text) => text switch
    {
        "vllm" => ModelRuntime.Vllm,
        "launch-cluster" => ModelRuntime.LaunchCluster,
        "nim" => ModelRuntime.Nim,
        _ => null,
    };

    public static string ToYaml(this ModelPlacement placement) => placement == ModelPlacement.Cluster ? "cluster" : "single";

    public static ModelPlacement? ParsePlacement(string? text) => text switch
    {
        "single" => ModelPlacement.Single,
        "cluster" => ModelPlacement.Cluster,
        _ => null,
    };

    public static string ToYaml(this ModelTask task) => task == ModelTask.Embed ? "embed" : "generate";

    public static ModelTask? ParseTask(string? text) => text switch
    {
        "generate" => ModelTask.Generate,
        "embed" => ModelTask.Embed,
        _ => null,
    };
}

/// <summary>One entry of the model catalog. Immutable: an edit produces a new definition and a new catalog snapshot.</summary>
public sealed record ModelDefinition
{
    public required string Id { get; init; }
    public required string DisplayName { get; init; }
    public required ModelSource Source { get; init; }
    public required string ServedName { get; init; }
    public ValueArray<string> Aliases { get; init; } = [];
    public ModelRuntime Runtime { get; init; } = ModelRuntime.Vllm;
    public ModelPlacement Placement { get; init; } = ModelPlacement.Single;
    public ModelTask Task { get; init; } = ModelTask.Generate;
    public int Port { get; init; } = 8000;

    /// <summary>The container image; null means the Spark's default vLLM image.</summary>
    public string? Image { get; init; }

    public VllmFlags Flags { get; init; } = VllmFlags.Default;

    /// <summary>A NIM's model cache on the Spark (mounted at <c>/opt/nim/.cache</c>); null means <c>~/.cache/nim</c>.</summary>
    public string? NimCache { get; init; }

    /// <summary>Unified memory the model needs when its runtime is not vLLM (vLLM reserves gpu-memory-utilization × MemTotal).</summary>
    public double? MemoryEstimateGiB { get; init; }

    /// <summary>Expected size on disk, for download progress and free-space checks before the first swap.</summary>
    public double? DownloadSizeGiB { get; init; }

    public string? Notes { get; init; }
    public ModelOrigin Origin { get; init; } = ModelOrigin.Shipped;

    /// <summary>
    /// Unload the model once no gateway request has used it for this long (llama-swap's <c>ttl</c>), so its unified
    /// memory is free for other work; null keeps it loaded.
    /// </summary>
    public TimeSpan? IdleUnloadAfter { get; init; }

    /// <summary>LoRA adapters served with this model, each under its own name (kept in models.custom.yaml).</summary>
    public ValueArray<LoraAdapter> Adapters { get; init; } = [];

    /// <summary>The adapters that lie on <paramref name="spark"/>: the ones a launch there loads.</summary>
    public IEnumerable<LoraAdapter> AdaptersOn(string spark) =>
        Adapters.Where(a => string.Equals(a.Spark, spark, StringComparison.OrdinalIgnoreCase));
}
