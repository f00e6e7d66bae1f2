using SparkControl.Core.Hosts;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

/// <summary>The Settings form's editable copy of a Spark; lists are edited one item per line.</summary>
public sealed class SparkForm
{
    public string Name { get; set; } = string.Empty;
    public string Host { get; set; } = string.Empty;
    public int Port { get; set; } = 22;
    public string User { get; set; } = string.Empty;
    public string? KeyPath { get; set; }
    public string Role { get; set; } = "standalone";
    public string HfCachePath { get; set; } = "~/.cache/huggingface";
    public string ModelRoots { get; set; } = string.Empty;
    public string PathPrefix { get; set; } = string.Empty;
    public string Gpus { get; set; } = "all";
    public string VllmImage { get; set; } = new SparkDefinition { Name = "x", Host = "x", User = "x" }.VllmImage;
    public string ExtraMounts { get; set; } = string.Empty;
    public bool UseLaunchCluster { get; set; }
    public string? LaunchScript { get; set; }
    public string LaunchNodes { get; set; } = string.Empty;
    public string LaunchContainer { get; set; } = "vllm_node";
    public string? LaunchImage { get; set; }

    public static SparkForm From(SparkDefinition spark) => new()
    {
        Name = spark.Name,
        Host = spark.Host,
        Port = spark.Port,
        User = spark.User,
        KeyPath = spark.KeyPath,
        Role = spark.Role.ToString().ToLowerInvariant(),
        HfCachePath = spark.HfCachePath,
        ModelRoots = string.Join('\n', spark.ModelRoots),
        PathPrefix = string.Join('\n', spark.PathPrefix),
        Gpus = spark.Gpus,
        VllmImage = spark.VllmImage,
        ExtraMounts = string.Join('\n', spark.ExtraMounts),
        UseLaunchCluster = spark.LaunchCluster is not null,
        LaunchScript = spark.LaunchCluster?.Script,
        LaunchNodes = spark.LaunchCluster is { } l ? string.Join(',', l.Nodes) : string.Empty,
        LaunchContainer = spark.LaunchCluster?.ContainerName ?? "vllm_node",
        LaunchImage = spark.LaunchCluster?.Image,
    };

    public SparkInput.SparkBody ToBody() => new(
        Name.Trim(), Host.Trim(), Port, User.Trim(), string.IsNullOrWhiteSpace(KeyPath) ? null : KeyPath.Trim(), Role, HfCachePath.Trim(),
        Lines(ModelRoots), Lines(PathPrefix), Gpus, "host", VllmImage.Trim(), Lines(ExtraMounts),
        UseLaunchCluster ? new SparkInput.LaunchClusterBody(LaunchScript?.Trim(), LaunchNodes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), LaunchContainer.Trim(), string.IsNullOrWhiteSpace(LaunchImage) ? null : LaunchImage.Trim()) : null);

    /// <summary>Every item of a one-per-line list must pass <paramref name="validate"/>; the first failure is shown.</summary>
    public static string? EachLine(string? text, Func<string, string?> validate) =>
        Lines(text).Select(validate).FirstOrDefault(e => e is not null);

    public static string? HfCache(string? path) => Validators.HomeOrAbsolutePath(path, "HF cache path");

    private static string[] Lines(string? text) =>
        (text ?? string.Empty).Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
