using System.Collections.Immutable;
using System.Globalization;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Catalog;

/// <summary>
/// A PEFT LoRA adapter attached to a base model: a directory on one Spark that vLLM loads next to the base weights
/// (<c>--enable-lora --lora-modules NAME=PATH</c>) and serves under <see cref="Name"/>, a model name of its own.
/// </summary>
/// <param name="Rank">The adapter's <c>r</c> from its adapter_config.json.</param>
/// <param name="BaseModel">The adapter's <c>base_model_name_or_path</c>, as trained.</param>
public sealed record LoraAdapter(string Name, string Spark, string Path, int Rank, string? BaseModel)
{
    /// <summary>The <c>--lora-modules</c> value.</summary>
    public string Module => $"{Name}={Path}";

    /// <summary>The rules an adapter's own fields must meet, as field errors: the API, the form, the store and models.custom.yaml share them.</summary>
    public IReadOnlyList<FieldError> Validate()
    {
        var errors = new List<FieldError>();
        foreach (var (field, error) in new[]
                 {
                     ("name", Validators.ServedName(Name, "name")),
                     ("spark", Validators.Name(Spark, "spark")),
                     ("path", CheckPath(Path)),
                     ("rank", LoraRanks.Check(Rank)),
                 })
        {
            if (error is not null)
            {
                errors.Add(new FieldError(field, error));
            }
        }

        return errors;
    }

    /// <summary>
    /// Why a directory cannot be an adapter's path: the shared path rule, and no '=' (vLLM splits <c>--lora-modules</c>
    /// at it).
    /// </summary>
    public static string? CheckPath(string? path) =>
        Validators.AbsolutePath(path) ?? (path!.Contains('=', StringComparison.Ordinal) ? $"path '{path}' holds '=', which --lora-modules NAME=PATH cannot carry" : null);
}

/// <summary>vLLM's LoRA rank rules.</summary>
public static class LoraRanks
{
    /// <summary>The values <c>--max-lora-rank</c> accepts (vLLM's LoRAConfig refuses any other).</summary>
    public static readonly ImmutableArray<int> AllowedMaxRanks = [1, 8, 16, 32, 64, 128, 256, 320, 512];

    public static int Highest => AllowedMaxRanks[^1];

    /// <summary>The smallest allowed <c>--max-lora-rank</c> that holds every adapter's rank (a larger one wastes memory).</summary>
    public static int MaxLoraRank(IEnumerable<LoraAdapter> adapters)
    {
        var needed = adapters.Select(a => a.Rank).DefaultIfEmpty(1).Max();
        return AllowedMaxRanks.First(r => r >= needed);
    }

    /// <summary>Why vLLM cannot serve an adapter of this rank, or null.</summary>
    public static string? Check(int rank) =>
        rank >= 1 && rank <= Highest ? null : string.Create(CultureInfo.InvariantCulture, $"rank r={rank} cannot be served: vLLM serves LoRA ranks from 1 to {Highest}");
}
