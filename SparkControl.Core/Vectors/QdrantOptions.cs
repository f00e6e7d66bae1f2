using Microsoft.Extensions.Options;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Vectors;

/// <summary>Settings under <c>Qdrant</c>: how documents are embedded and cut for search.</summary>
public sealed class QdrantOptions
{
    public const string Section = "Qdrant";

    /// <summary>
    /// The model that embeds documents and queries, by the name the gateway routes (the demo's embeddings service
    /// serves <c>bge-small</c>); a collection keeps the model its points were embedded with and is searched with it.
    /// </summary>
    public string EmbeddingModel { get; set; } = "bge-small";

    /// <summary>The longest chunk a document is cut into, in characters.</summary>
    public int ChunkCharacters { get; set; } = 800;

    /// <summary>Documents one request may add.</summary>
    public int MaxDocuments { get; set; } = 100;

    /// <summary>The longest document, in characters.</summary>
    public int MaxDocumentCharacters { get; set; } = 200_000;

    /// <summary>Where the panel keeps its copies of Qdrant's snapshots; empty means <c>qdrant-snapshots</c> in the data directory.</summary>
    public string? SnapshotDirectory { get; set; }

    /// <summary>How long one call to Qdrant may take.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class QdrantOptionsValidator : IValidateOptions<QdrantOptions>
{
    public ValidateOptionsResult Validate(string? name, QdrantOptions options)
    {
        var errors = new List<string>();
        const string prefix = QdrantOptions.Section;
        if (Validators.ServedName(options.EmbeddingModel, $"{prefix}:EmbeddingModel") is { } model)
        {
            errors.Add(model);
        }

        if (options.ChunkCharacters is < 100 or > 20_000)
        {
            errors.Add($"{prefix}:ChunkCharacters must be between 100 and 20000, not {options.ChunkCharacters}");
        }

        if (options.MaxDocuments is < 1 or > 10_000)
        {
            errors.Add($"{prefix}:MaxDocuments must be between 1 and 10000, not {options.MaxDocuments}");
        }

        if (options.MaxDocumentCharacters is < 1_000 or > 10_000_000)
        {
            errors.Add($"{prefix}:MaxDocumentCharacters must be between 1000 and 10000000, not {options.MaxDocumentCharacters}");
        }

        Configuration.SparkControlOptionsValidator.Positive(errors, $"{prefix}:CallTimeout", options.CallTimeout);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
