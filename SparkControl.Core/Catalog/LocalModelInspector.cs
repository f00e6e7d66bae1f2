using System.Collections.Immutable;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Units;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Catalog;

/// <summary>What a directory on a Spark holds, as far as serving it with vLLM goes.</summary>
public enum LocalModelKind
{
    /// <summary>config.json, weights and a tokenizer: vLLM can serve it by path.</summary>
    FullModel,

    /// <summary>A PEFT/LoRA output: serve its base model with --enable-lora instead.</summary>
    Adapter,

    /// <summary>Something is missing (weights, tokenizer, config).</summary>
    Incomplete,

    Missing,
}

/// <summary>The result of checking a directory on a Spark: its kind, resolved path, size and what to do about problems.</summary>
public sealed record LocalModelCheck(string Spark, string Path, LocalModelKind Kind, string? RealPath, long? SizeBytes, ImmutableArray<string> Problems)
{
    public bool CanRegister => Kind == LocalModelKind.FullModel && Problems.IsEmpty;
}

/// <summary>
/// Checks a directory that should hold a fine-tuned model: under the Spark's allow-listed roots by name and by
/// <c>realpath</c> (a symlink cannot lead out), with config.json, weights and tokenizer files.
/// </summary>
public static class LocalModelInspector
{
    public static async Task<LocalModelCheck> InspectAsync(ISparkHost host, SparkDefinition spark, string path, CancellationToken cancellationToken)
    {
        var (real, problem) = await ResolveInsideRootsAsync(host, spark, path, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return new LocalModelCheck(spark.Name, path, LocalModelKind.Missing, real, null, [problem]);
        }

        var entries = await host.ListDirectoryAsync(real!, cancellationToken).ConfigureAwait(false);
        var (kind, problems) = Classify(entries.Where(e => !e.IsDirectory).Select(e => e.Name).ToList(), real!);
        var size = await host.GetDiskUsageAsync(real!, cancellationToken).ConfigureAwait(false);
        return new LocalModelCheck(spark.Name, path, kind, real, size, problems);
    }

    /// <summary>
    /// The directory's real path (every symlink resolved) when both the path as written and the real path lie under the
    /// Spark's allow-listed roots; else what is wrong. Asked when a model is registered and again before every launch:
    /// a symlink changed after registration, or a local model written into models.yaml by hand, cannot lead out.
    /// </summary>
    public static async Task<(string? RealPath, string? Problem)> ResolveInsideRootsAsync(ISparkHost host, SparkDefinition spark, string path, CancellationToken cancellationToken)
    {
        if (Validators.PathUnderRoots(path, spark.ModelRoots) is { } pathError)
        {
            return (null, pathError);
        }

        var real = await host.RealPathAsync(path, cancellationToken).ConfigureAwait(false);
        if (real is null)
        {
            return (null, $"{path} does not exist on {spark.Name}");
        }

        return spark.ModelRoots.Any(root => Validators.IsUnder(real, root))
            ? (real, null)
            : (real, $"{path} resolves to {real}, which is outside the allow-listed roots ({string.Join(", ", spark.ModelRoots)})");
    }

    /// <summary>What the check across the Sparks found, and which of them hold the directory at all (inside their roots or not).</summary>
    public sealed record NodeCheck(IReadOnlyList<string> Problems, IReadOnlyList<SparkEntry> Holding);

    /// <summary>
    /// What stops a local model from spanning the Sparks: each node must hold the directory at the same path, inside its
    /// own allow-listed roots, with the same size (a copy still being written, or another version, is not the same
    /// model). The sizes are what <c>du</c> reports on each Spark.
    /// </summary>
    public static async Task<NodeCheck> CheckOnEveryNodeAsync(string path, IReadOnlyList<SparkEntry> entries, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var sizes = new List<(string Spark, long Bytes)>();
        var holding = new List<SparkEntry>();
        foreach (var entry in entries)
        {
            var (real, problem) = await LocalModelInspector.ResolveInsideRootsAsync(entry.Host, entry.Definition, path, cancellationToken).ConfigureAwait(false);
            if (real is not null)
            {
                holding.Add(entry);
            }

            if (problem is not null)
            {
                problems.Add(real is null && Validators.PathUnderRoots(path, entry.Definition.ModelRoots) is null
                    ? $"{problem}: a model on both Sparks must lie at the same path on each; copy it to {entry.Name} first"
                    : problem);
                continue;
            }

            if (await entry.Host.GetDiskUsageAsync(real!, cancellationToken).ConfigureAwait(false) is { } bytes)
            {
                sizes.Add((entry.Name, bytes));
            }
        }

        if (problems.Count == 0 && sizes.Select(s => s.Bytes).Distinct().Count() > 1)
        {
            problems.Add($"{path} differs between the Sparks ({string.Join(", ", sizes.Select(s => $"{ByteSize.Human(s.Bytes)} ({s.Bytes} bytes) on {s.Spark}"))}): copy it again so each node loads the same weights");
        }

        return new NodeCheck(problems, holding);
    }

    /// <summary>Decides from file names alone; shared with discovery.</summary>
    public static (LocalModelKind Kind, ImmutableArray<string> Problems) Classify(IReadOnlyCollection<string> files, string path)
    {
        if (files.Contains("adapter_config.json"))
        {
            return (LocalModelKind.Adapter,
                [$"{path} is a PEFT adapter (adapter_config.json), not a full model: attach it to its base model (Models, Adapters; served with --enable-lora --lora-modules), or merge it into the base first"]);
        }

        var problems = ImmutableArray.CreateBuilder<string>();
        if (!files.Contains("config.json"))
        {
            problems.Add("config.json is missing (vLLM reads the architecture from it)");
        }

        var weights = files.Any(f => f.EndsWith(".safetensors", StringComparison.Ordinal) || (f.StartsWith("pytorch_model", StringComparison.Ordinal) && f.EndsWith(".bin", StringComparison.Ordinal)));
        if (!weights)
        {
            problems.Add("no weights (*.safetensors or pytorch_model*.bin)");
        }

        if (!files.Contains("tokenizer.json") && !files.Contains("tokenizer.model"))
        {
            problems.Add("no tokenizer (tokenizer.json or tokenizer.model)");
        }

        return problems.Count == 0 ? (LocalModelKind.FullModel, []) : (LocalModelKind.Incomplete, problems.ToImmutable());
    }
}

/// <summary>A directory found by scanning a Spark's model roots.</summary>
public sealed record DiscoveredModel(string Spark, string Path, LocalModelKind Kind, long? SizeBytes, ImmutableArray<string> Problems, string? RegisteredAs);

/// <summary>Scans a Spark's allow-listed roots (two levels deep) for directories that look like models.</summary>
public static class ModelDiscovery
{
    public const int MaxDirectories = 200;

    public static async Task<IReadOnlyList<DiscoveredModel>> ScanAsync(ISparkHost host, SparkDefinition spark, CatalogSnapshot catalog, CancellationToken cancellationToken)
    {
        var found = new List<DiscoveredModel>();
        var visited = 0;
        foreach (var root in spark.ModelRoots)
        {
            var pending = new Queue<(string Path, int Depth)>();
            pending.Enqueue((root, 0));
            while (pending.Count > 0 && visited < MaxDirectories)
            {
                var (directory, depth) = pending.Dequeue();
                visited++;
                var entries = await host.ListDirectoryAsync(directory, cancellationToken).ConfigureAwait(false);
                var files = entries.Where(e => !e.IsDirectory).Select(e => e.Name).ToList();
                if (files.Contains("config.json") || files.Contains("adapter_config.json"))
                {
                    var (kind, problems) = LocalModelInspector.Classify(files, directory);
                    var size = await host.GetDiskUsageAsync(directory, cancellationToken).ConfigureAwait(false);
                    var registered = catalog.FindSameSource(new LocalSource(spark.Name, directory))?.Id;
                    found.Add(new DiscoveredModel(spark.Name, directory, kind, size, problems, registered));
                    continue;
                }

                if (depth < 2)
                {
                    foreach (var sub in entries.Where(e => e.IsDirectory && !e.Name.StartsWith('.')))
                    {
                        pending.Enqueue(($"{directory.TrimEnd('/')}/{sub.Name}", depth + 1));
                    }
                }
            }
        }

        return found;
    }
}
