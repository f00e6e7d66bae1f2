using Qdrant.Client.Grpc;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Vectors;

/// <summary>A collection as the collections page lists it: what Qdrant reports in its collection info.</summary>
public sealed record CollectionSummary(
    string Name,
    string Status,
    ulong Points,
    ulong Segments,
    ulong? VectorSize,
    string? Distance,
    IReadOnlyDictionary<string, string> IndexedFields);

/// <summary>A point as a collection's page samples it: its payload, and its vector summarized (size and norm).</summary>
public sealed record PointSample(string Id, IReadOnlyDictionary<string, object?> Payload, int? VectorSize, double? VectorNorm);

/// <summary>One Qdrant service's reply to "what is in you": its version, whether it asks for a key, and its collections.</summary>
public sealed record QdrantOverview(string Service, string Version, bool? RequiresApiKey, IReadOnlyList<CollectionSummary> Collections);

/// <summary>Reads what a Qdrant service holds, for the collections page and <c>/api/qdrant/…</c>.</summary>
public sealed class QdrantCollections(QdrantConnections connections)
{
    public async Task<QdrantOverview> OverviewAsync(ServiceDefinition service, CancellationToken cancellationToken)
    {
        var connection = connections.For(service, readOnly: true);
        var health = await connection.CallAsync(c => c.HealthAsync(cancellationToken)).ConfigureAwait(false);
        var names = await connection.CallAsync(c => c.ListCollectionsAsync(cancellationToken)).ConfigureAwait(false);
        var summaries = new List<CollectionSummary>(names.Count);
        foreach (var name in names.Order(StringComparer.Ordinal))
        {
            var info = await connection.CallAsync(c => c.GetCollectionInfoAsync(name, cancellationToken)).ConfigureAwait(false);
            summaries.Add(Summary(name, info));
        }

        var requires = await connections.RequiresApiKeyAsync(service, cancellationToken).ConfigureAwait(false);
        return new QdrantOverview(service.Key, health.Version, requires, summaries);
    }

    public async Task<CollectionSummary> InfoAsync(ServiceDefinition service, string collection, CancellationToken cancellationToken)
    {
        Check(collection);
        var connection = connections.For(service, readOnly: true);
        return Summary(collection, await connection.CallAsync(c => c.GetCollectionInfoAsync(collection, cancellationToken)).ConfigureAwait(false));
    }

    /// <summary>The first <paramref name="limit"/> points in Qdrant's id order, payload whole and vectors summarized.</summary>
    public async Task<IReadOnlyList<PointSample>> SampleAsync(ServiceDefinition service, string collection, int limit, CancellationToken cancellationToken)
    {
        Check(collection);
        if (limit is < 1 or > 100)
        {
            throw new ValidationFailedException([new FieldError("limit", $"limit must be between 1 and 100, not {limit}")]);
        }

        var connection = connections.For(service, readOnly: true);
        var page = await connection.CallAsync(c => c.ScrollAsync(collection, limit: (uint)limit, payloadSelector: true, vectorsSelector: true, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return [.. page.Result.Select(p =>
        {
            var vector = p.Vectors?.Vector?.Dense?.Data;
            return new PointSample(
                p.Id.PointIdOptionsCase == PointId.PointIdOptionsOneofCase.Num ? p.Id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture) : p.Id.Uuid,
                p.Payload.ToDictionary(f => f.Key, f => VectorSearch.Plain(f.Value), StringComparer.Ordinal),
                vector?.Count,
                vector is null ? null : Math.Sqrt(vector.Sum(v => (double)v * v)));
        })];
    }

    private static void Check(string collection)
    {
        if (Validators.Name(collection, "collection") is { } problem)
        {
            throw new ValidationFailedException([new FieldError("collection", problem)]);
        }
    }

    private static CollectionSummary Summary(string name, CollectionInfo info)
    {
        var vectors = info.Config?.Params?.VectorsConfig;
        var single = vectors?.ConfigCase == VectorsConfig.ConfigOneofCase.Params ? vectors.Params : null;
        return new CollectionSummary(
            name,
            info.Status.ToString().ToLowerInvariant(),
            info.PointsCount,
            info.SegmentsCount,
            single?.Size,
            single?.Distance.ToString(),
            info.PayloadSchema.ToDictionary(f => f.Key, f => f.Value.DataType.ToString().ToLowerInvariant(), StringComparer.Ordinal));
    }
}
