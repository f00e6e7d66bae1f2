using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Grpc.Core;
using Qdrant.Client.Grpc;
using SparkControl.Sim.Qdrant;
using SparkControl.Tests.Infrastructure;
using static Qdrant.Client.Grpc.Conditions;

namespace SparkControl.Tests.Sim;

/// <summary>
/// The Sim's Qdrant as the real Qdrant.Client sees it, over gRPC on a real socket: collections, points, search,
/// snapshots, and the API key refused as Qdrant refuses it; REST for what gRPC lacks (snapshot download and upload).
/// </summary>
public sealed class SimQdrantTests
{
    private static PointStruct Point(ulong id, float[] vector, string colour) => new() { Id = id, Vectors = vector, Payload = { ["colour"] = colour, ["n"] = (long)id } };

    private static async Task SeedAsync(Qdrant.Client.QdrantClient client, string collection, Distance distance = Distance.Cosine)
    {
        await client.CreateCollectionAsync(collection, new VectorParams { Size = 3, Distance = distance });
        await client.UpsertAsync(collection,
        [
            Point(1, [1, 0, 0], "red"),
            Point(2, [0.9f, 0.1f, 0], "red"),
            Point(3, [0, 1, 0], "green"),
            Point(4, [0, 0, 1], "blue"),
            Point(5, [0.5f, 0.5f, 0], "green"),
        ]);
    }

    [Fact]
    public async Task Collections_AreListed_AndTheirInfoRead_AsCreated()
    {
        await using var qdrant = await TestQdrant.StartAsync();
        using var client = qdrant.Client();
        await SeedAsync(client, "docs");
        await client.CreateCollectionAsync("empty", new VectorParams { Size = 384, Distance = Distance.Dot });
        await client.CreatePayloadIndexAsync("docs", "colour", PayloadSchemaType.Keyword);

        var health = await client.HealthAsync();
        var names = await client.ListCollectionsAsync();
        var info = await client.GetCollectionInfoAsync("docs");
        var empty = await client.GetCollectionInfoAsync("empty");

        Assert.Equal(SimQdrantStore.Version, health.Version);
        Assert.Equal(["docs", "empty"], names.Order(StringComparer.Ordinal));
        Assert.Equal((5ul, CollectionStatus.Green, 3ul, Distance.Cosine), (info.PointsCount, info.Status, info.Config.Params.VectorsConfig.Params.Size, info.Config.Params.VectorsConfig.Params.Distance));
        Assert.Equal(PayloadSchemaType.Keyword, info.PayloadSchema["colour"].DataType);
        Assert.Equal(5ul, info.PayloadSchema["colour"].Points);
        Assert.Equal((0ul, 384ul, Distance.Dot), (empty.PointsCount, empty.Config.Params.VectorsConfig.Params.Size, empty.Config.Params.VectorsConfig.Params.Distance));
        Assert.True(await client.CollectionExistsAsync("docs"));
        Assert.False(await client.CollectionExistsAsync("nope"));

        var again = await Assert.ThrowsAsync<RpcException>(() => client.CreateCollectionAsync("docs", new VectorParams { Size = 3, Distance = Distance.Cosine }));
        Assert.Equal((StatusCode.InvalidArgument, "Wrong input: Collection `docs` already exists!"), (again.StatusCode, again.Status.Detail));
        var missing = await Assert.ThrowsAsync<RpcException>(() => client.GetCollectionInfoAsync("nope"));
        Assert.Equal((StatusCode.NotFound, "Not found: Collection `nope` doesn't exist!"), (missing.StatusCode, missing.Status.Detail));

        await client.DeleteCollectionAsync("empty");
        Assert.Equal(["docs"], await client.ListCollectionsAsync());
    }

    [Fact]
    public async Task Search_ReturnsTheNearestNeighbours_InOrder_ByTheCollectionsDistance()
    {
        await using var qdrant = await TestQdrant.StartAsync();
        using var client = qdrant.Client();
        await SeedAsync(client, "cosine");
        await SeedAsync(client, "euclid", Distance.Euclid);

        var cosine = await client.QueryAsync("cosine", query: new float[] { 2, 0, 0 }, limit: 3);
        var euclid = await client.QueryAsync("euclid", query: new float[] { 0.1f, 0.9f, 0 }, limit: 3);
        var query = await client.QueryAsync("cosine", query: new float[] { 0, 0.2f, 5 }, limit: 2, payloadSelector: true);
        var byId = await client.QueryAsync("cosine", query: 3ul, limit: 2);
        var filtered = await client.QueryAsync("cosine", query: new float[] { 1, 0, 0 }, filter: MatchKeyword("colour", "green"), limit: 5, payloadSelector: true);
#pragma warning disable CS0618 // The older Search method: clients written before Query still call it, and Qdrant still serves it.
        var legacy = await client.SearchAsync("cosine", new float[] { 2, 0, 0 }, limit: 3);
#pragma warning restore CS0618

        // Cosine: the query's length does not matter; 1 is the same direction, 2 nearly, 5 at 45°.
        Assert.Equal([1ul, 2ul, 5ul], cosine.Select(p => p.Id.Num));
        Assert.Equal(1f, cosine[0].Score, 4);
        Assert.Equal(0.9f / MathF.Sqrt(0.82f), cosine[1].Score, 4);
        Assert.Equal(cosine.Select(p => (p.Id.Num, p.Score)), legacy.Select(p => (p.Id.Num, p.Score)));
        // Euclid: the score is the distance, nearest (smallest) first.
        Assert.Equal([3ul, 5ul, 2ul], euclid.Select(p => p.Id.Num));
        Assert.True(euclid[0].Score < euclid[1].Score && euclid[1].Score < euclid[2].Score);
        Assert.Equal([4ul, 3ul], [query[0].Id.Num, query[1].Id.Num]);
        Assert.Equal("blue", query[0].Payload["colour"].StringValue);
        Assert.Equal(3ul, byId[0].Id.Num);
        Assert.Equal([5ul, 3ul], filtered.Select(p => p.Id.Num));
        Assert.All(filtered, p => Assert.Equal("green", p.Payload["colour"].StringValue));
    }

    [Fact]
    public async Task Points_AreUpsertedReplacedScrolledCountedAndDeleted_AndABadVectorFailsTheWholeBatch()
    {
        await using var qdrant = await TestQdrant.StartAsync();
        using var client = qdrant.Client();
        await SeedAsync(client, "docs");

        await client.UpsertAsync("docs", [Point(1, [0, 0, 1], "blue")]);
        var first = await client.ScrollAsync("docs", limit: 2);
        var second = await client.ScrollAsync("docs", limit: 10, offset: first.NextPageOffset);
        var blue = await client.CountAsync("docs", MatchKeyword("colour", "blue"));
        var got = await client.RetrieveAsync("docs", [1ul, 99ul], withPayload: true, withVectors: true);
        var wrong = await Assert.ThrowsAsync<RpcException>(() => client.UpsertAsync("docs", [Point(6, [1, 0, 0], "red"), Point(7, [1, 0], "red")]));
        await client.DeleteAsync("docs", MatchKeyword("colour", "green"));

        Assert.Equal([1ul, 2ul], first.Result.Select(p => p.Id.Num));
        Assert.Equal("blue", first.Result[0].Payload["colour"].StringValue);
        Assert.Equal(3ul, first.NextPageOffset.Num);
        Assert.Equal([3ul, 4ul, 5ul], second.Result.Select(p => p.Id.Num));
        Assert.Null(second.NextPageOffset);
        Assert.Equal(2ul, blue);
        Assert.Equal([0f, 0f, 1f], Assert.Single(got).Vectors.Vector.Dense.Data);
        Assert.Equal((StatusCode.InvalidArgument, "Wrong input: Vector dimension error: expected dim: 3, got 2"), (wrong.StatusCode, wrong.Status.Detail));
        Assert.Equal(3ul, await client.CountAsync("docs"));
        Assert.False(await client.RetrieveAsync("docs", [6ul]) is { Count: > 0 }, "a batch with one bad point stores none of it");
    }

    [Theory]
    [InlineData(null, StatusCode.Unauthenticated, "Must provide an API key or an Authorization bearer token")]
    [InlineData("wrong-key", StatusCode.Unauthenticated, "Invalid API key or JWT")]
    [InlineData("test-qdrant-key-5f1", StatusCode.Unauthenticated, "Invalid API key or JWT")]
    [InlineData("test-qdrant-key-5f1cc", StatusCode.Unauthenticated, "Invalid API key or JWT")]
    public async Task AQdrantWithAKey_RefusesAMissingOrWrongOne_AsQdrantDoes(string? key, StatusCode status, string message)
    {
        await using var qdrant = await TestQdrant.StartSecuredAsync();
        using var client = qdrant.Client(key);
        using var raw = new HttpClient();

        // A prefix of the right key, and the right key with one more character, are as wrong as any other.
        Assert.True(key is null || (key != TestQdrant.ApiKey && key != TestQdrant.ReadOnlyApiKey));
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.ListCollectionsAsync());
        Assert.Equal((status, message), (refused.StatusCode, refused.Status.Detail));

        // REST: the same rule, except for the paths Qdrant leaves open.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(qdrant.Rest, "snapshots"));
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("api-key", key);
        }

        using var rest = await raw.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, rest.StatusCode);
        Assert.Equal(message, JsonDocument.Parse(await rest.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, (await raw.GetAsync(new Uri(qdrant.Rest, "readyz"))).StatusCode);
    }

    [Fact]
    public async Task AQdrantWithAKey_ServesTheKey_AndTheReadOnlyKeyReadsButCannotWrite()
    {
        await using var qdrant = await TestQdrant.StartSecuredAsync();
        using var admin = qdrant.Client(TestQdrant.ApiKey);
        using var reader = qdrant.Client(TestQdrant.ReadOnlyApiKey);
        await SeedAsync(admin, "docs");

        var hits = await reader.QueryAsync("docs", query: new float[] { 1, 0, 0 }, limit: 1);
        var write = await Assert.ThrowsAsync<RpcException>(() => reader.UpsertAsync("docs", [Point(9, [1, 0, 0], "red")]));
        var snapshot = await Assert.ThrowsAsync<RpcException>(() => reader.CreateSnapshotAsync("docs"));

        Assert.Equal(1ul, Assert.Single(hits).Id.Num);
        Assert.Equal((StatusCode.PermissionDenied, "Write access denied"), (write.StatusCode, write.Status.Detail));
        Assert.Equal(StatusCode.PermissionDenied, snapshot.StatusCode);
        Assert.Equal(5ul, await admin.CountAsync("docs"));
    }

    [Fact]
    public async Task Snapshots_AreRealFiles_DownloadedByRest_WithQdrantsChecksum_AndRestoreADeletedCollection()
    {
        await using var qdrant = await TestQdrant.StartSecuredAsync();
        using var client = qdrant.Client(TestQdrant.ApiKey);
        using var http = new HttpClient { BaseAddress = qdrant.Rest };
        http.DefaultRequestHeaders.Add("api-key", TestQdrant.ApiKey);
        await SeedAsync(client, "docs");

        var made = await client.CreateSnapshotAsync("docs");
        var listed = await client.ListSnapshotsAsync("docs");
        var bytes = await http.GetByteArrayAsync($"collections/docs/snapshots/{made.Name}");
        await client.DeleteCollectionAsync("docs");

        Assert.Equal(made.Name, Assert.Single(listed).Name);
        Assert.Equal(made.Size, bytes.Length);
        Assert.Equal(made.Checksum, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.False(await client.CollectionExistsAsync("docs"));

        // A wrong checksum and a file that is no snapshot are refused before anything is restored.
        using (var mismatch = await UploadAsync(http, "docs", bytes, "priority=snapshot&checksum=" + new string('0', 64)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
            Assert.Contains("checksum mismatch", await mismatch.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var notSnapshot = await UploadAsync(http, "docs", "PK\u0003\u0004 not a snapshot"u8.ToArray(), "priority=snapshot"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notSnapshot.StatusCode);
        }

        Assert.False(await client.CollectionExistsAsync("docs"));
        using (var restored = await UploadAsync(http, "docs", bytes, $"priority=snapshot&checksum={made.Checksum}"))
        {
            Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
        }

        Assert.Equal(5ul, await client.CountAsync("docs"));
        Assert.Equal([1ul, 2ul, 5ul], (await client.QueryAsync("docs", query: new float[] { 1, 0, 0 }, limit: 3)).Select(p => p.Id.Num));

        // Qdrant's default priority, replica, restores onto a fresh node with no points: why the panel sends "snapshot".
        using (var replica = await UploadAsync(http, "again", bytes, query: null))
        {
            Assert.Equal(HttpStatusCode.OK, replica.StatusCode);
        }

        Assert.Equal(0ul, await client.CountAsync("again"));
        await client.DeleteSnapshotAsync("docs", made.Name);
        Assert.Empty(await client.ListSnapshotsAsync("docs"));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"collections/docs/snapshots/{made.Name}")).StatusCode);
    }

    [Fact]
    public async Task ASnapshotOfAnotherMinorVersion_IsRefused()
    {
        await using var qdrant = await TestQdrant.StartAsync();
        using var client = qdrant.Client();
        using var http = new HttpClient { BaseAddress = qdrant.Rest };
        await SeedAsync(client, "docs");
        var made = await client.CreateSnapshotAsync("docs");
        var bytes = await http.GetByteArrayAsync($"collections/docs/snapshots/{made.Name}");
        var older = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(bytes).Replace($"\"version\":\"{SimQdrantStore.Version}\"", "\"version\":\"1.14.1\"", StringComparison.Ordinal));
        Assert.NotEqual(bytes, older);

        using var refused = await UploadAsync(http, "docs", older, "priority=snapshot");

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("1.14.1", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(SimQdrantStore.SameMinor("1.15.0", "1.15.5"));
        Assert.False(SimQdrantStore.SameMinor("1.16.0", "1.15.5"));
    }

    [Fact]
    public async Task FullSnapshots_HoldEveryCollection()
    {
        await using var qdrant = await TestQdrant.StartAsync();
        using var client = qdrant.Client();
        using var http = new HttpClient { BaseAddress = qdrant.Rest };
        await SeedAsync(client, "a");
        await SeedAsync(client, "b");

        var full = await client.CreateFullSnapshotAsync();
        var listed = await client.ListFullSnapshotsAsync();
        var bytes = await http.GetByteArrayAsync($"snapshots/{full.Name}");

        Assert.StartsWith("full-snapshot-", full.Name, StringComparison.Ordinal);
        Assert.Equal(full.Name, Assert.Single(listed).Name);
        Assert.Equal(["a", "b"], JsonDocument.Parse(bytes).RootElement.GetProperty("collections").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        await client.DeleteFullSnapshotAsync(full.Name);
        Assert.Empty(await client.ListFullSnapshotsAsync());
    }

    private static async Task<HttpResponseMessage> UploadAsync(HttpClient http, string collection, byte[] file, string? query)
    {
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(content, "snapshot", "upload.snapshot");
        return await http.PostAsync($"collections/{collection}/snapshots/upload{(query is null ? string.Empty : "?" + query)}", form);
    }
}
