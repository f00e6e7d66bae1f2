using System.Collections.Immutable;
using SparkControl.Core.Yaml;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Catalog;

/// <summary>Reads and writes the model catalog schema (<c>models.yaml</c>; documented in the README, "Model catalog").</summary>
public static class CatalogYaml
{
    public static (ImmutableArray<ModelDefinition> Models, ImmutableArray<ConfigProblem> Problems) Read(string text, string file, ModelOrigin origin)
    {
        var problems = new List<ConfigProblem>();
        var root = YamlMap.Load(text, file, problems);
        var models = ImmutableArray.CreateBuilder<ModelDefinition>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in root.Maps("models"))
        {
            var before = problems.Count;
            var model = ReadModel(entry, origin);
            if (model is null || problems.Count > before)
            {
                continue;
            }

            if (!ids.Add(model.Id))
            {
                entry.Problem($"model id '{model.Id}' appears more than once");
                continue;
            }

            if (ServedNames.Clash(model, models) is { } clash)
            {
                entry.Problem($"model '{model.Id}': {clash}");
                continue;
            }

            models.Add(model);
        }

        root.RejectUnknown();
        return (models.ToImmutable(), [.. problems]);
    }

    public static ModelDefinition? ReadModel(YamlMap map, ModelOrigin origin)
    {
        // Every field is read (and its problems reported) before any is judged missing, in the order of the file.
        var id = ReadId(map);
        var source = ReadSource(map.Map("source"), map);
        var (servedName, aliases) = ReadNames(map, id);
        var (runtime, placement, task) = ReadKind(map);
        var port = ReadPort(map);
        var image = map.String("image");
        var nimCache = map.String("nimCache");
        var flags = ReadFlags(map.Map("vllm"));
        var memory = map.Double("memoryEstimateGiB");
        var download = map.Double("downloadSizeGiB");
        var displayName = map.String("displayName");
        var notes = map.String("notes");
        var idle = map.Duration("idleUnloadAfter");
        if (idle is { } after && Validators.IdleUnloadAfter(after) is { } idleError)
        {
            map.ProblemAt("idleUnloadAfter", idleError);
        }

        map.RejectUnknown();

        if (id is null || source is null || servedName is null || runtime is null || placement is null || task is null)
        {
            return null;
        }

        CheckPlacement(map, source, runtime.Value, placement.Value);
        return new ModelDefinition
        {
            Id = id,
            DisplayName = displayName ?? id,
            Source = source,
            ServedName = servedName,
            Aliases = [.. aliases],
            Runtime = runtime.Value,
            Placement = placement.Value,
            Task = task.Value,
            Port = port,
            Image = image,
            NimCache = nimCache,
            Flags = flags,
            MemoryEstimateGiB = memory,
            DownloadSizeGiB = download,
            Notes = notes,
            Origin = origin,
            IdleUnloadAfter = idle,
        };
    }

    private static string? ReadId(YamlMap map)
    {
        var id = map.String("id", required: true);
        if (id is not null && Validators.ModelId(id) is { } idError)
        {
            map.ProblemAt("id", idError);
        }

        return id;
    }

    /// <summary>The served name (the id when not given) and the aliases clients may also use.</summary>
    private static (string? ServedName, IReadOnlyList<string> Aliases) ReadNames(YamlMap map, string? id)
    {
        var servedName = map.String("servedName") ?? id;
        if (servedName is not null && Validators.ServedName(servedName) is { } servedError)
        {
            map.ProblemAt("servedName", servedError);
        }

        var aliases = map.Strings("aliases");
        foreach (var alias in aliases)
        {
            if (Validators.ServedName(alias, "alias") is { } aliasError)
            {
                map.ProblemAt("aliases", aliasError);
            }
        }

        return (servedName, aliases);
    }

    /// <summary>How the model runs, where, and for what; null for a value that is not one of the words allowed.</summary>
    private static (ModelRuntime? Runtime, ModelPlacement? Placement, ModelTask? Task) ReadKind(YamlMap map) =>
    (
        ReadWord(map, "runtime", ModelRuntime.Vllm, ModelEnumNames.ParseRuntime, "vllm, launch-cluster or nim"),
        ReadWord(map, "placement", ModelPlacement.Single, ModelEnumNames.ParsePlacement, "single or cluster"),
        ReadWord(map, "task", ModelTask.Generate, ModelEnumNames.ParseTask, "generate or embed")
    );

    /// <summary>One of a few words, or <paramref name="fallback"/> when absent; null (and a problem) for any other word.</summary>
    private static T? ReadWord<T>(YamlMap map, string key, T fallback, Func<string, T?> parse, string allowed)
        where T : struct
    {
        var text = map.String(key);
        var value = text is null ? fallback : parse(text);
        if (value is null)
        {
            map.ProblemAt(key, $"{key} '{text}' must be {allowed}");
        }

        return value;
    }

    private static int ReadPort(YamlMap map)
    {
        var port = map.Int("port") ?? 8000;
        if (Validators.Port(port) is { } portError)
        {
            map.ProblemAt("port", portError);
        }

        return port;
    }

    /// <summary>A model on both Sparks must come through launch-cluster.sh, and cannot be a directory on one Spark.</summary>
    private static void CheckPlacement(YamlMap map, ModelSource source, ModelRuntime runtime, ModelPlacement placement)
    {
        if (placement == ModelPlacement.Cluster && runtime != ModelRuntime.LaunchCluster)
        {
            map.ProblemAt("placement", "placement cluster (both Sparks, tensor parallel 2) needs runtime launch-cluster");
        }

    }

    private static ModelSource? ReadSource(YamlMap? map, YamlMap parent)
    {
        if (map is null)
        {
            parent.Problem("'source' is required: { hf: ORG/NAME } or { local: /path, spark: NAME }");
            return null;
        }

        var hf = map.String("hf");
        var revision = map.String("revision");
        var local = map.String("local");
        var spark = map.String("spark");
        map.RejectUnknown();
        if (hf is not null && local is null)
        {
            if (Validators.HfRepoId(hf) is { } repoError)
            {
                map.ProblemAt("hf", repoError);
            }

            if (Validators.HfRevision(revision) is { } revisionError)
            {
                map.ProblemAt("revision", revisionError);
            }

            return new HuggingFaceSource(hf, revision);
        }

        if (local is not null && hf is null)
        {
            if (Validators.AbsolutePath(local, "local") is { } pathError)
            {
                map.ProblemAt("local", pathError);
            }

            if (Validators.Name(spark, "spark") is { } sparkError)
            {
                map.ProblemAt("spark", sparkError);
            }

            return new LocalSource(spark ?? string.Empty, local);
        }

        map.Problem("source needs exactly one of 'hf' (a Hugging Face repo) or 'local' (a directory on a Spark)");
        return null;
    }

    public static VllmFlags ReadFlags(YamlMap? map)
    {
        if (map is null)
        {
            return VllmFlags.Default;
        }

        var flags = new VllmFlags
        {
            MaxModelLen = map.Int("maxModelLen"),
            GpuMemoryUtilization = map.Double("gpuMemoryUtilization"),
            MaxNumSeqs = map.Int("maxNumSeqs"),
            TensorParallelSize = map.Int("tensorParallelSize"),
            Quantization = map.String("quantization"),
            KvCacheDtype = map.String("kvCacheDtype"),
            EnablePrefixCaching = map.Bool("enablePrefixCaching"),
            EnforceEager = map.Bool("enforceEager") ?? false,
            TrustRemoteCode = map.Bool("trustRemoteCode") ?? false,
            ToolCallParser = map.String("toolCallParser"),
            ReasoningParser = map.String("reasoningParser"),
            ExtraArgs = [.. map.Strings("extraArgs")],
        };
        map.RejectUnknown();
        foreach (var error in VllmFlagRules.Validate(flags))
        {
            map.ProblemAt(error.Field.Split('[')[0], error.Message);
        }

        return flags;
    }

    public static YamlWriter WriteModel(ModelDefinition model) => new YamlWriter()
        .Add("id", model.Id)
        .Add("displayName", model.DisplayName == model.Id ? null : model.DisplayName)
        .Add("source", WriteSource(model.Source))
        .Add("servedName", model.ServedName == model.Id ? null : model.ServedName)
        .Add("aliases", model.Aliases)
        .Add("runtime", model.Runtime == ModelRuntime.Vllm ? null : model.Runtime.ToYaml())
        .Add("placement", model.Placement == ModelPlacement.Single ? null : model.Placement.ToYaml())
        .Add("task", model.Task == ModelTask.Generate ? null : model.Task.ToYaml())
        .Add("port", model.Port)
        .Add("image", model.Image)
        .Add("nimCache", model.NimCache)
        .Add("vllm", WriteFlags(model.Flags))
        .Add("memoryEstimateGiB", model.MemoryEstimateGiB)
        .Add("downloadSizeGiB", model.DownloadSizeGiB)
        .Add("notes", model.Notes)
        .Add("idleUnloadAfter", model.IdleUnloadAfter);

    /// <summary>An adapter as models.custom.yaml keeps it, under the id of the model it is attached to.</summary>
    public static YamlWriter WriteAdapter(string modelId, LoraAdapter adapter) => new YamlWriter()
        .Add("model", modelId)
        .Add("name", adapter.Name)
        .Add("spark", adapter.Spark)
        .Add("path", adapter.Path)
        .Add("rank", adapter.Rank)
        .Add("baseModel", adapter.BaseModel);

    /// <summary>An attached adapter from models.custom.yaml; null (with the problems reported) when it is not valid.</summary>
    public static AttachedAdapter? ReadAdapter(YamlMap map)
    {
        var model = map.String("model", required: true);
        var name = map.String("name", required: true);
        var spark = map.String("spark", required: true);
        var path = map.String("path", required: true);
        var rank = map.Int("rank", required: true);
        var baseModel = map.String("baseModel");
        map.RejectUnknown();
        if (model is null || name is null || spark is null || path is null || rank is null)
        {
            return null;
        }

        var adapter = new LoraAdapter(name, spark, path, rank.Value, baseModel);
        var errors = adapter.Validate();
        foreach (var error in errors)
        {
            map.ProblemAt(error.Field, error.Message);
        }

        return errors.Count == 0 ? new AttachedAdapter(model, adapter) : null;
    }

    public static YamlWriter WriteSource(ModelSource source) => source switch
    {
        HuggingFaceSource hf => new YamlWriter().Add("hf", hf.Repo).Add("revision", hf.Revision),
        LocalSource local => new YamlWriter().Add("local", local.Path).Add("spark", local.Spark),
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };

    public static YamlWriter WriteFlags(VllmFlags flags) => new YamlWriter()
        .Add("maxModelLen", flags.MaxModelLen)
        .Add("gpuMemoryUtilization", flags.GpuMemoryUtilization)
        .Add("maxNumSeqs", flags.MaxNumSeqs)
        .Add("tensorParallelSize", flags.TensorParallelSize)
        .Add("quantization", flags.Quantization)
        .Add("kvCacheDtype", flags.KvCacheDtype)
        .Add("enablePrefixCaching", flags.EnablePrefixCaching)
        .Add("enforceEager", flags.EnforceEager ? true : null)
        .Add("trustRemoteCode", flags.TrustRemoteCode ? true : null)
        .Add("toolCallParser", flags.ToolCallParser)
        .Add("reasoningParser", flags.ReasoningParser)
        .Add("extraArgs", flags.ExtraArgs);
}
