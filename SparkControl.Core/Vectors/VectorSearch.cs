using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Qdrant.Client.Grpc;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Vectors;

/// <summary>A search: <c>POST /api/search</c> and the Search page.</summary>
public sealed record SearchRequest(string? Collection, string? Query, int? Limit = null, IReadOnlyDictionary<string, JsonElement>? Filter = null, string? Service = null);

/// <summary>One hit, best first: the chunk's text and source, and its whole payload.</summary>
public sealed record SearchHit(string Id, float Score, string? Text, string? Source, IReadOnlyDictionary<string, object?> Payload);

public sealed record SearchResult(string Collection, string Service, string Model, IReadOnlyList<SearchHit> Hits);

/// <summary>A document to add: its text and where it came from.</summary>
public sealed record DocumentInput(string? Text, string? Source);

/// <summary>Documents to add to a collection: <c>POST /api/collections/{name}/documents</c>.</summary>
public sealed record DocumentsRequest(IReadOnlyList<DocumentInput>? Documents, string? Service = null);

public sealed record DocumentsAdded(string Collection, string Service, int Documents, int Chunks);

/// <summary>
/// Search over Qdrant with texts: documents are cut into chunks, embedded through the gateway and upserted with their
/// text and source; a query is embedded with the model the collection's points were embedded with and answered by
/// Qdrant's nearest neighbours. Requests are checked here, once, for the API and the page alike.
/// </summary>
public sealed class VectorSearch(QdrantConnections connections, ITextEmbedder embedder, IOptionsMonitor<QdrantOptions> options)
{
    public const int MaxLimit = 100;
    public const int MaxQueryCharacters = 2_000;

    /// <summary>The payload fields the panel writes on every chunk.</summary>
    public const string TextField = "text", SourceField = "source", ChunkField = "chunk", ModelField = "embedding_model";

    public async Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken)
    {
        var errors = Check(request);
        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        var connection = connections.For(connections.Resolve(request.Service), readOnly: true);
        var collection = request.Collection!;
        if (!await connection.CallAsync(c => c.CollectionExistsAsync(collection, cancellationToken)).ConfigureAwait(false))
        {
            throw new KeyNotFoundException($"Qdrant {connection.Service.Key} has no collection '{collection}'");
        }

        var model = await ModelOfAsync(connection, collection, cancellationToken).ConfigureAwait(false);
        var vector = (await embedder.EmbedAsync(model, [request.Query!], cancellationToken).ConfigureAwait(false))[0];
        var points = await connection.CallAsync(c => c.QueryAsync(
            collection,
            query: vector,
            filter: FilterOf(request.Filter),
            limit: (ulong)(request.Limit ?? 10),
            payloadSelector: true,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new SearchResult(collection, connection.Service.Key, model, [.. points.Select(Hit)]);
    }

    /// <summary>
    /// Cuts, embeds and upserts <paramref name="request"/>'s documents, creating the collection (cosine, the model's
    /// size) when it is missing. A chunk's id follows from its source, place and text, so adding a document again
    /// replaces its chunks instead of doubling them.
    /// </summary>
    public async Task<DocumentsAdded> AddDocumentsAsync(string collection, DocumentsRequest request, CancellationToken cancellationToken)
    {
        var errors = Check(collection, request);
        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        var connection = connections.For(connections.Resolve(request.Service));
        var exists = await connection.CallAsync(c => c.CollectionExistsAsync(collection, cancellationToken)).ConfigureAwait(false);
        var model = exists ? await ModelOfAsync(connection, collection, cancellationToken).ConfigureAwait(false) : options.CurrentValue.EmbeddingModel;
        var chunks = request.Documents!
            .SelectMany(d => TextChunker.Split(d.Text!, options.CurrentValue.ChunkCharacters).Select((text, i) => (Text: text, Source: d.Source ?? string.Empty, Index: i)))
            .ToList();
        var vectors = await embedder.EmbedAsync(model, [.. chunks.Select(c => c.Text)], cancellationToken).ConfigureAwait(false);
        if (!exists)
        {
            var size = (ulong)vectors[0].Length;
            await connection.CallAsync(async c =>
            {
                await c.CreateCollectionAsync(collection, new VectorParams { Size = size, Distance = Distance.Cosine }, cancellationToken: cancellationToken).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }

        var points = chunks.Select((chunk, i) => new PointStruct
        {
            Id = ChunkId(chunk.Source, chunk.Index, chunk.Text),
            Vectors = vectors[i],
            Payload =
            {
                [TextField] = chunk.Text,
                [SourceField] = chunk.Source,
                [ChunkField] = chunk.Index,
                [ModelField] = model,
            },
        }).ToList();
        await connection.CallAsync(c => c.UpsertAsync(collection, points, wait: true, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new DocumentsAdded(collection, connection.Service.Key, request.Documents!.Count, chunks.Count);
    }

    /// <summary>The model a collection's points were embedded with (the panel writes it on each), else the setting.</summary>
    private async Task<string> ModelOfAsync(QdrantConnection connection, string collection, CancellationToken cancellationToken)
    {
        var first = await connection.CallAsync(c => c.ScrollAsync(collection, limit: 1, payloadSelector: new WithPayloadSelector { Include = new PayloadIncludeSelector { Fields = { ModelField } } }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return first.Result.FirstOrDefault()?.Payload.TryGetValue(ModelField, out var model) == true && model.KindCase == Value.KindOneofCase.StringValue
            ? model.StringValue
            : options.CurrentValue.EmbeddingModel;
    }

    private static PointId ChunkId(string source, int index, string text)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{source}\n{index.ToString(CultureInfo.InvariantCulture)}\n{text}"));
        return new PointId { Uuid = new Guid(hash.AsSpan(0, 16)).ToString() };
    }

    private static SearchHit Hit(ScoredPoint point)
    {
        var payload = point.Payload.ToDictionary(p => p.Key, p => Plain(p.Value), StringComparer.Ordinal);
        return new SearchHit(
            point.Id.PointIdOptionsCase == PointId.PointIdOptionsOneofCase.Num ? point.Id.Num.ToString(CultureInfo.InvariantCulture) : point.Id.Uuid,
            point.Score,
            payload.GetValueOrDefault(TextField) as string,
            payload.GetValueOrDefault(SourceField) as string,
            payload);
    }

    /// <summary>A payload value as plain .NET data, ready for JSON.</summary>
    public static object? Plain(Value value) => value.KindCase switch
    {
        Value.KindOneofCase.StringValue => value.StringValue,
        Value.KindOneofCase.IntegerValue => value.IntegerValue,
        Value.KindOneofCase.DoubleValue => value.DoubleValue,
        Value.KindOneofCase.BoolValue => value.BoolValue,
        Value.KindOneofCase.ListValue => value.ListValue.Values.Select(Plain).ToList(),
        Value.KindOneofCase.StructValue => value.StructValue.Fields.ToDictionary(f => f.Key, f => Plain(f.Value), StringComparer.Ordinal),
        _ => null,
    };

    /// <summary>The filter of a search: every field must equal its value (a string, a whole number or true/false).</summary>
    private static Filter? FilterOf(IReadOnlyDictionary<string, JsonElement>? fields)
    {
        if (fields is null || fields.Count == 0)
        {
            return null;
        }

        var filter = new Filter();
        foreach (var (key, value) in fields)
        {
            var match = value.ValueKind switch
            {
                JsonValueKind.String => new Match { Keyword = value.GetString() },
                JsonValueKind.True or JsonValueKind.False => new Match { Boolean = value.GetBoolean() },
                _ => new Match { Integer = value.GetInt64() },
            };
            filter.Must.Add(new Condition { Field = new FieldCondition { Key = key, Match = match } });
        }

        return filter;
    }

    public static List<FieldError> Check(SearchRequest request)
    {
        var errors = new List<FieldError>();
        Add(errors, "collection", Validators.Name(request.Collection, "collection"));
        if (string.IsNullOrWhiteSpace(request.Query))
        {
            errors.Add(new FieldError("query", "query is required"));
        }
        else if (request.Query.Length > MaxQueryCharacters)
        {
            errors.Add(new FieldError("query", $"query must be at most {MaxQueryCharacters} characters, not {request.Query.Length}"));
        }

        if (request.Limit is < 1 or > MaxLimit)
        {
            errors.Add(new FieldError("limit", $"limit must be between 1 and {MaxLimit}, not {request.Limit}"));
        }

        foreach (var (key, value) in request.Filter ?? new Dictionary<string, JsonElement>())
        {
            Add(errors, "filter", Validators.Name(key, "a filter's field"));
            if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.True or JsonValueKind.False) && !(value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _)))
            {
                errors.Add(new FieldError("filter", $"the filter's field '{Validators.Printable(key)}' must equal a string, a whole number or true/false"));
            }
        }

        return errors;
    }

    public List<FieldError> Check(string? collection, DocumentsRequest request)
    {
        var errors = new List<FieldError>();
        Add(errors, "collection", Validators.Name(collection, "collection"));
        var limits = options.CurrentValue;
        if (request.Documents is not { Count: > 0 } documents)
        {
            errors.Add(new FieldError("documents", "documents must hold at least one document"));
            return errors;
        }

        if (documents.Count > limits.MaxDocuments)
        {
            errors.Add(new FieldError("documents", $"at most {limits.MaxDocuments} documents may be added at once, not {documents.Count}"));
        }

        for (var i = 0; i < documents.Count; i++)
        {
            var text = documents[i]?.Text;
            if (string.IsNullOrWhiteSpace(text))
            {
                errors.Add(new FieldError($"documents[{i}].text", "a document's text is required"));
            }
            else if (text.Length > limits.MaxDocumentCharacters)
            {
                errors.Add(new FieldError($"documents[{i}].text", $"a document may hold at most {limits.MaxDocumentCharacters} characters, not {text.Length}"));
            }

            if (documents[i]?.Source is { } source && (source.Length > 500 || source.Any(char.IsControl)))
            {
                errors.Add(new FieldError($"documents[{i}].source", "a document's source must be at most 500 printable characters"));
            }
        }

        return errors;
    }

    private static void Add(List<FieldError> errors, string field, string? problem)
    {
        if (problem is not null)
        {
            errors.Add(new FieldError(field, problem));
        }
    }
}
