using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Qdrant.Client.Grpc;

namespace SparkControl.Sim.Qdrant;

/// <summary>One stored point: its id, its one unnamed dense vector (normalized for cosine, as Qdrant stores it) and payload.</summary>
internal sealed record SimPoint(PointId Id, float[] Vector, IReadOnlyDictionary<string, Value> Payload);

/// <summary>One collection: one unnamed dense vector per point, its payload indexes and its points.</summary>
internal sealed class SimCollection(string name, ulong size, Distance distance, DateTimeOffset createdAt)
{
    public string Name => name;
    public ulong Size => size;
    public Distance Distance => distance;
    public DateTimeOffset CreatedAt => createdAt;
    public Dictionary<PointId, SimPoint> Points { get; } = [];
    public Dictionary<string, PayloadSchemaType> Indexes { get; } = new(StringComparer.Ordinal);
}

/// <summary>A snapshot file on the Sim's disk, with Qdrant's description of it.</summary>
internal sealed record SimSnapshot(string Collection, string Name, string Path, DateTimeOffset CreatedAt, long Size, string Checksum)
{
    /// <summary>The collection a full snapshot is listed under.</summary>
    public const string Full = "";

    public SnapshotDescription Describe() => new()
    {
        Name = Name,
        CreationTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(CreatedAt),
        Size = Size,
        Checksum = Checksum,
    };
}

/// <summary>
/// What a simulated Qdrant keeps: collections of points and snapshot files. It outlives the container it serves (as a
/// volume does), so a restarted Qdrant finds its collections. Errors are the gRPC statuses Qdrant answers with, and its
/// words ("Not found: Collection `x` doesn't exist!").
/// </summary>
public sealed class SimQdrantStore(string snapshotDirectory, TimeProvider time)
{
    /// <summary>The Qdrant version the Sim answers as; a snapshot restores only within its minor version.</summary>
    public const string Version = "1.15.5";

    private const string SnapshotFormat = "sparkcontrol-sim-qdrant-snapshot";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, SimCollection> _collections = new(StringComparer.Ordinal);
    private readonly List<SimSnapshot> _snapshots = [];

    public string SnapshotDirectory => snapshotDirectory;

    /// <summary>Called with a snapshot file's path once it is written and its checksum taken: a test's way to corrupt it.</summary>
    public Action<string>? SnapshotWritten { get; set; }

    /// <summary>Awaited before a snapshot download sends its first byte: a test's way to hold a download in flight.</summary>
    public Func<CancellationToken, Task>? BeforeDownload { get; set; }

    internal IReadOnlyList<string> CollectionNames()
    {
        lock (_gate)
        {
            return [.. _collections.Keys.Order(StringComparer.Ordinal)];
        }
    }

    internal bool Exists(string name)
    {
        lock (_gate)
        {
            return _collections.ContainsKey(name);
        }
    }

    internal void Create(string name, ulong size, Distance distance)
    {
        if (size is 0 or > 65536)
        {
            throw Invalid($"Validation error in JSON body: [vectors.size: value {size} invalid, must be from 1 to 65536]");
        }

        lock (_gate)
        {
            if (!_collections.TryAdd(name, new SimCollection(name, size, distance, time.GetUtcNow())))
            {
                throw Invalid($"Wrong input: Collection `{name}` already exists!");
            }
        }
    }

    internal bool Delete(string name)
    {
        lock (_gate)
        {
            return _collections.Remove(name);
        }
    }

    /// <summary>Runs <paramref name="action"/> on the collection under the store's lock, or throws Qdrant's not-found status.</summary>
    internal T With<T>(string name, Func<SimCollection, T> action)
    {
        lock (_gate)
        {
            return _collections.TryGetValue(name, out var collection) ? action(collection) : throw NotFound($"Collection `{name}` doesn't exist!");
        }
    }

    internal static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    internal static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, "Not found: " + message));

    internal IReadOnlyList<SimSnapshot> Snapshots(string collection)
    {
        lock (_gate)
        {
            return [.. _snapshots.Where(s => s.Collection == collection).OrderBy(s => s.CreatedAt)];
        }
    }

    internal SimSnapshot? FindSnapshot(string collection, string name)
    {
        lock (_gate)
        {
            return _snapshots.FirstOrDefault(s => s.Collection == collection && s.Name == name);
        }
    }

    /// <summary>Writes a snapshot of one collection, or of all of them (<see cref="SimSnapshot.Full"/>), to a real file.</summary>
    internal SimSnapshot CreateSnapshot(string collection)
    {
        var now = time.GetUtcNow();
        JsonObject document;
        lock (_gate)
        {
            var included = collection == SimSnapshot.Full
                ? _collections.Values.OrderBy(c => c.Name, StringComparer.Ordinal).ToList()
                : [_collections.TryGetValue(collection, out var one) ? one : throw NotFound($"Collection `{collection}` doesn't exist!")];
            document = new JsonObject
            {
                ["format"] = SnapshotFormat,
                ["version"] = Version,
                ["collections"] = new JsonArray([.. included.Select(Serialize)]),
            };
        }

        var stem = collection == SimSnapshot.Full ? "full-snapshot" : $"{collection}-{RandomNumberGenerator.GetInt32(int.MaxValue)}";
        var name = $"{stem}-{now:yyyy-MM-dd-HH-mm-ss}.snapshot";
        var directory = Path.Combine(snapshotDirectory, collection == SimSnapshot.Full ? "full" : collection);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(document);
        File.WriteAllBytes(path, bytes);
        var snapshot = new SimSnapshot(collection, name, path, now, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        lock (_gate)
        {
            _snapshots.RemoveAll(s => s.Collection == collection && s.Name == name);
            _snapshots.Add(snapshot);
        }

        SnapshotWritten?.Invoke(path);
        return snapshot;
    }

    internal bool DeleteSnapshot(string collection, string name)
    {
        SimSnapshot? found;
        lock (_gate)
        {
            found = _snapshots.FirstOrDefault(s => s.Collection == collection && s.Name == name);
            if (found is not null)
            {
                _snapshots.Remove(found);
            }
        }

        if (found is not null)
        {
            File.Delete(found.Path);
        }

        return found is not null;
    }

    /// <summary>
    /// Restores <paramref name="collection"/> from an uploaded snapshot: its configuration, and its points when
    /// <paramref name="keepPoints"/> (priority <c>snapshot</c>). Refuses a file that is not a collection snapshot and one
    /// taken by another minor version of Qdrant, as Qdrant does.
    /// </summary>
    internal void Restore(string collection, ReadOnlySpan<byte> file, bool keepPoints)
    {
        JsonObject? document;
        try
        {
            document = JsonNode.Parse(file) as JsonObject;
        }
        catch (JsonException)
        {
            document = null;
        }

        if (document?["format"]?.GetValue<string>() != SnapshotFormat || document["collections"] is not JsonArray { Count: 1 } collections)
        {
            throw Invalid("Wrong input: the uploaded file is not a collection snapshot");
        }

        var version = document["version"]?.GetValue<string>() ?? string.Empty;
        if (!SameMinor(version, Version))
        {
            throw Invalid($"Wrong input: the snapshot was taken by Qdrant {version}; this Qdrant is {Version} and restores snapshots of {MinorOf(Version)}.x only");
        }

        var restored = Deserialize(collection, collections[0]!.AsObject());
        if (!keepPoints)
        {
            restored.Points.Clear();
        }

        lock (_gate)
        {
            _collections[collection] = restored;
        }
    }

    public static bool SameMinor(string a, string b) => MinorOf(a) is { Length: > 0 } minor && minor == MinorOf(b);

    private static string MinorOf(string version) => version.Split('.') is [var major, var minor, ..] ? $"{major}.{minor}" : string.Empty;

    private static JsonObject Serialize(SimCollection collection) => new()
    {
        ["name"] = collection.Name,
        ["size"] = collection.Size,
        ["distance"] = collection.Distance.ToString(),
        ["createdAt"] = collection.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
        ["indexes"] = new JsonObject([.. collection.Indexes.Select(i => KeyValuePair.Create(i.Key, (JsonNode?)i.Value.ToString()))]),
        ["points"] = new JsonArray([.. collection.Points.Values.Select(p => (JsonNode?)Convert.ToBase64String(ToPointStruct(p).ToByteArray()))]),
    };

    private static SimCollection Deserialize(string name, JsonObject source)
    {
        var collection = new SimCollection(
            name,
            source["size"]!.GetValue<ulong>(),
            Enum.Parse<Distance>(source["distance"]!.GetValue<string>()),
            DateTimeOffset.Parse(source["createdAt"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        foreach (var (field, type) in source["indexes"]!.AsObject())
        {
            collection.Indexes[field] = Enum.Parse<PayloadSchemaType>(type!.GetValue<string>());
        }

        foreach (var point in source["points"]!.AsArray())
        {
            var parsed = PointStruct.Parser.ParseFrom(Convert.FromBase64String(point!.GetValue<string>()));
            collection.Points[parsed.Id] = new SimPoint(parsed.Id, [.. parsed.Vectors.Vector.Dense.Data], new Dictionary<string, Value>(parsed.Payload, StringComparer.Ordinal));
        }

        return collection;
    }

    private static PointStruct ToPointStruct(SimPoint point)
    {
        var vector = new Vector { Dense = new DenseVector() };
        vector.Dense.Data.AddRange(point.Vector);
        var message = new PointStruct { Id = point.Id, Vectors = new Vectors { Vector = vector } };
        message.Payload.Add(point.Payload.ToDictionary());
        return message;
    }
}
