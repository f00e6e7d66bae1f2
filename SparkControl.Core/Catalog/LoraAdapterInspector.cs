using System.Collections.Immutable;
using System.Text.Json;
using SparkControl.Core.Hosts;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Catalog;

/// <summary>What a directory on a Spark holds as a LoRA adapter: its rank and base as trained, and what stops serving it.</summary>
/// <param name="BaseMismatch">Why the adapter may not fit the model (trained on another base); the operator may confirm it.</param>
public sealed record LoraAdapterCheck(string Spark, string Path, string? RealPath, int? Rank, string? BaseModel, long? SizeBytes, ImmutableArray<FieldError> Problems, string? BaseMismatch)
{
    public bool CanAttach => Problems.IsEmpty;
}

/// <summary>
/// Checks a PEFT output before it is attached to a base model: under the Spark's allow-listed roots (by name and by
/// <c>realpath</c>), an adapter_config.json that is JSON and says LORA with a rank vLLM serves, adapter weights, and the
/// base it was trained on compared with the model that will serve it.
/// </summary>
public static class LoraAdapterInspector
{
    /// <summary>adapter_config.json is a few hundred bytes; a larger file is not one.</summary>
    public const int MaxConfigBytes = 64 * 1024;

    /// <summary>Why <paramref name="model"/> cannot serve LoRA adapters, or null.</summary>
    public static string? CannotServe(ModelDefinition model) => model switch
    {
        { Runtime: not ModelRuntime.Vllm } => $"{model.Id} runs as {model.Runtime.ToYaml()}; the panel attaches LoRA adapters to models it starts with docker run of vLLM (NIM loads adapters from its own NIM_PEFT_SOURCE)",
        { Task: ModelTask.Embed } => $"{model.Id} computes embeddings; LoRA adapters are served with generating models",
        _ => null,
    };

    public static async Task<LoraAdapterCheck> InspectAsync(ISparkHost host, SparkDefinition spark, string path, ModelDefinition? baseModel, CancellationToken cancellationToken)
    {
        var (real, problem) = await LocalModelInspector.ResolveInsideRootsAsync(host, spark, path, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return new LoraAdapterCheck(spark.Name, path, real, null, null, null, [new FieldError("path", problem)], null);
        }

        var files = (await host.ListDirectoryAsync(real!, cancellationToken).ConfigureAwait(false)).Where(e => !e.IsDirectory).Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var problems = new List<FieldError>();
        if (!files.Contains("adapter_config.json"))
        {
            problems.Add(new FieldError("path", files.Contains("config.json")
                ? $"{path} holds a full model (config.json, no adapter_config.json): add it as a local model instead"
                : $"{path} has no adapter_config.json, so it is not a PEFT adapter"));
            return new LoraAdapterCheck(spark.Name, path, real, null, null, null, [.. problems], null);
        }

        if (!files.Contains("adapter_model.safetensors") && !files.Contains("adapter_model.bin"))
        {
            problems.Add(new FieldError("path", $"{path} has no adapter weights (adapter_model.safetensors or adapter_model.bin)"));
        }

        var text = await host.ReadFileAsync($"{real!.TrimEnd('/')}/adapter_config.json", MaxConfigBytes, cancellationToken).ConfigureAwait(false);
        var (rank, trainedOn) = ReadConfig(text, problems);
        var size = await host.GetDiskUsageAsync(real, cancellationToken).ConfigureAwait(false);
        return new LoraAdapterCheck(spark.Name, path, real, rank, trainedOn, size, [.. problems], baseModel is null ? null : Mismatch(trainedOn, baseModel));
    }

    /// <summary>The rank and base from adapter_config.json, adding a problem for each thing vLLM would refuse.</summary>
    public static (int? Rank, string? BaseModel) ReadConfig(string? text, List<FieldError> problems)
    {
        if (text is null)
        {
            problems.Add(new FieldError("path", $"adapter_config.json cannot be read, or is larger than {MaxConfigBytes / 1024} KiB"));
            return (null, null);
        }

        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(text);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            problems.Add(new FieldError("path", $"adapter_config.json is not JSON ({ex.Message})"));
            return (null, null);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            problems.Add(new FieldError("path", "adapter_config.json is not a JSON object"));
            return (null, null);
        }

        var peftType = root.TryGetProperty("peft_type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null;
        if (!string.Equals(peftType, "LORA", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add(new FieldError("path", $"adapter_config.json says peft_type {peftType ?? "(none)"}; vLLM serves LORA adapters only"));
        }

        int? rank = root.TryGetProperty("r", out var r) && r.ValueKind == JsonValueKind.Number && r.TryGetInt32(out var value) ? value : null;
        if (rank is null)
        {
            problems.Add(new FieldError("rank", "adapter_config.json has no whole-number rank 'r'"));
        }
        else if (LoraRanks.Check(rank.Value) is { } rankError)
        {
            problems.Add(new FieldError("rank", rankError));
        }

        var trainedOn = root.TryGetProperty("base_model_name_or_path", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
        return (rank, trainedOn);
    }

    /// <summary>Why the adapter may not fit <paramref name="model"/>: it names another base than the model's weights, or none.</summary>
    public static string? Mismatch(string? trainedOn, ModelDefinition model)
    {
        var weights = model.Source switch
        {
            HuggingFaceSource hf => hf.Repo,
            LocalSource local => local.Path,
            _ => null,
        };
        if (trainedOn is null)
        {
            return $"adapter_config.json does not name its base model, so it cannot be checked against {model.Id} ({weights})";
        }

        var same = model.Source is HuggingFaceSource
            ? string.Equals(trainedOn, weights, StringComparison.OrdinalIgnoreCase)
            : string.Equals(trainedOn.TrimEnd('/'), weights?.TrimEnd('/'), StringComparison.Ordinal);
        return same ? null : $"the adapter was trained on {trainedOn}, but {model.Id} serves {weights}";
    }
}
