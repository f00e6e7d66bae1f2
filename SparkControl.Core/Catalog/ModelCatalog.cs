using System.Collections.Immutable;
using SparkControl.Core.Streams;
using SparkControl.Core.Yaml;

namespace SparkControl.Core.Catalog;

/// <summary>An immutable view of the catalog: every model, and every problem found reading the files behind it.</summary>
public sealed record CatalogSnapshot(ImmutableArray<ModelDefinition> Models, ImmutableArray<ConfigProblem> Problems)
{
    public static readonly CatalogSnapshot Empty = new([], []);

    public ModelDefinition? Find(string id) => Models.FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.Ordinal));

    /// <summary>The model a client means by <paramref name="name"/>: its served name or one of its aliases.</summary>
    public ModelDefinition? FindByServedName(string name) =>
        Models.FirstOrDefault(m => m.ServedName == name) ?? Models.FirstOrDefault(m => m.Aliases.Contains(name));
}

/// <summary>The model catalog as a snapshot plus stream; a change replaces the whole snapshot atomically.</summary>
public sealed class ModelCatalog(TimeProvider time)
{
    private readonly SnapshotStream<CatalogSnapshot> _stream = new(CatalogSnapshot.Empty, time);

    public CatalogSnapshot Current => _stream.Current.Value;

    public IAsyncEnumerable<Versioned<CatalogSnapshot>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    public void Publish(CatalogSnapshot snapshot) => _stream.Publish(snapshot);
}
