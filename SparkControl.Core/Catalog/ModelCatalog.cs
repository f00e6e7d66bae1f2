using System.Collections.Immutable;
using SparkControl.Core.Streams;
using SparkControl.Core.Yaml;

namespace SparkControl.Core.Catalog;

/// <summary>An immutable view of the catalog: every model, and every problem found reading the files behind it.</summary>
public sealed record CatalogSnapshot(ImmutableArray<ModelDefinition> Models, ImmutableArray<ConfigProblem> Problems)
{
    public static readonly CatalogSnapshot Empty = new([], []);

    public ModelDefinition? Find(string id) => Models.FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.Ordinal));

    /// <summary>
    /// The model a client means by <paramref name="name"/>: its served name, one of its aliases, or the name of one of
    /// its LoRA adapters (the base model serves the adapter).
    /// </summary>
    public ModelDefinition? FindByServedName(string name) =>
        Models.FirstOrDefault(m => m.ServedName == name) ?? Models.FirstOrDefault(m => m.Aliases.Contains(name))
        ?? Models.FirstOrDefault(m => m.Adapters.Any(a => a.Name == name));

    /// <summary>
    /// The model that already takes its weights from <paramref name="source"/>: the same Hugging Face repo (the hub
    /// ignores case) at the same revision, or the same directory on the same Spark.
    /// </summary>
    public ModelDefinition? FindSameSource(ModelSource source) => Models.FirstOrDefault(m => (m.Source, source) switch
    {
        (HuggingFaceSource a, HuggingFaceSource b) => string.Equals(a.Repo, b.Repo, StringComparison.OrdinalIgnoreCase) && a.Revision == b.Revision,
        (LocalSource a, LocalSource b) => a.Spark == b.Spark && a.Path == b.Path,
        _ => false,
    });
}

/// <summary>A model with the same weights is in the catalog already; a second entry is added only when asked for.</summary>
public sealed class DuplicateModelException(ModelSource source, string existingId)
    : InvalidOperationException($"{source} is already in the catalog as {existingId}.")
{
    public string ExistingId { get; } = existingId;

    /// <summary>Throws unless <paramref name="allowDuplicate"/> or no model in <paramref name="catalog"/> has <paramref name="source"/>.</summary>
    public static void ThrowIfExists(CatalogSnapshot catalog, ModelSource source, bool allowDuplicate)
    {
        if (!allowDuplicate && catalog.FindSameSource(source) is { } existing)
        {
            throw new DuplicateModelException(source, existing.Id);
        }
    }
}

/// <summary>The model catalog as a snapshot plus stream; a change replaces the whole snapshot atomically.</summary>
public sealed class ModelCatalog(TimeProvider time)
{
    private readonly SnapshotStream<CatalogSnapshot> _stream = new(CatalogSnapshot.Empty, time);

    public CatalogSnapshot Current => _stream.Current.Value;

    public IAsyncEnumerable<Versioned<CatalogSnapshot>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    public void Publish(CatalogSnapshot snapshot) => _stream.Publish(snapshot);
}
