using Qdrant.Client.Grpc;

namespace SparkControl.Sim.Qdrant;

/// <summary>
/// Points as Qdrant treats them: vectors read from the request (one unnamed dense vector), scores by the collection's
/// distance, filters on payload fields, and the payload and vectors a reply carries.
/// </summary>
internal static class SimQdrantPoints
{
    /// <summary>The one unnamed dense vector a point or a query carries, checked against the collection's size.</summary>
    public static float[] ReadVector(Vectors? vectors, SimCollection collection)
    {
        if (vectors?.VectorsOptionsCase != Vectors.VectorsOptionsOneofCase.Vector)
        {
            throw SimQdrantStore.Invalid("Wrong input: the Sim serves one unnamed dense vector per point");
        }

        return Checked(DenseOf(vectors.Vector), collection);
    }

    public static float[] Checked(float[] vector, SimCollection collection)
    {
        if ((ulong)vector.Length != collection.Size)
        {
            throw SimQdrantStore.Invalid($"Wrong input: Vector dimension error: expected dim: {collection.Size}, got {vector.Length}");
        }

        return collection.Distance == Distance.Cosine ? Normalized(vector) : vector;
    }

    private static float[] DenseOf(Vector vector) => vector.VectorCase switch
    {
        Vector.VectorOneofCase.Dense => [.. vector.Dense.Data],
#pragma warning disable CS0612 // Older clients send the deprecated flat field; Qdrant still reads it.
        Vector.VectorOneofCase.None when vector.Data.Count > 0 => [.. vector.Data],
#pragma warning restore CS0612
        _ => throw SimQdrantStore.Invalid("Wrong input: the Sim serves dense vectors only"),
    };

    /// <summary>The query vector of a Query request: a dense vector, or a stored point's vector by its id.</summary>
    public static float[] QueryVector(VectorInput input, SimCollection collection) => input.VariantCase switch
    {
        VectorInput.VariantOneofCase.Dense => Checked([.. input.Dense.Data], collection),
        VectorInput.VariantOneofCase.Id => collection.Points.TryGetValue(input.Id, out var point)
            ? point.Vector
            : throw SimQdrantStore.NotFound($"No point with id {Describe(input.Id)} found"),
        _ => throw SimQdrantStore.Invalid("Wrong input: the Sim answers nearest-neighbour queries by a dense vector or a point id"),
    };

    private static float[] Normalized(float[] vector)
    {
        var norm = Math.Sqrt(vector.Sum(v => (double)v * v));
        return norm == 0 ? vector : [.. vector.Select(v => (float)(v / norm))];
    }

    /// <summary>The score Qdrant gives: similarity for cosine and dot (higher is nearer), distance for the others (lower is nearer).</summary>
    public static float Score(Distance distance, float[] a, float[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += distance switch
            {
                Distance.Euclid => (a[i] - b[i]) * (double)(a[i] - b[i]),
                Distance.Manhattan => Math.Abs(a[i] - b[i]),
                _ => a[i] * (double)b[i],
            };
        }

        return (float)(distance == Distance.Euclid ? Math.Sqrt(sum) : sum);
    }

    public static bool HigherIsNearer(Distance distance) => distance is Distance.Cosine or Distance.Dot;

    /// <summary>The nearest points to <paramref name="query"/>, best first, after the filter, offset and score threshold.</summary>
    public static List<ScoredPoint> Nearest(SimCollection collection, float[] query, Filter? filter, ulong limit, ulong offset, float? threshold, WithPayloadSelector? payload, WithVectorsSelector? vectors)
    {
        var higher = HigherIsNearer(collection.Distance);
        var scored = collection.Points.Values
            .Where(p => Matches(filter, p))
            .Select(p => (Point: p, Score: Score(collection.Distance, query, p.Vector)))
            .Where(s => threshold is not { } t || (higher ? s.Score >= t : s.Score <= t));
        var ordered = higher ? scored.OrderByDescending(s => s.Score) : scored.OrderBy(s => s.Score);
        return [.. ordered.ThenBy(s => s.Point.Id, PointIds.Order).Skip((int)Math.Min(offset, int.MaxValue)).Take((int)Math.Min(limit, int.MaxValue)).Select(s =>
        {
            var result = new ScoredPoint { Id = s.Point.Id, Score = s.Score, Version = 0 };
            result.Payload.Add(Select(s.Point.Payload, payload).ToDictionary());
            if (WantsVectors(vectors))
            {
                result.Vectors = Output(s.Point.Vector);
            }

            return result;
        })];
    }

    public static RetrievedPoint Retrieved(SimPoint point, WithPayloadSelector? payload, WithVectorsSelector? vectors)
    {
        var result = new RetrievedPoint { Id = point.Id };
        result.Payload.Add(Select(point.Payload, payload).ToDictionary());
        if (WantsVectors(vectors))
        {
            result.Vectors = Output(point.Vector);
        }

        return result;
    }

    private static VectorsOutput Output(float[] vector)
    {
        var output = new VectorOutput { Dense = new DenseVector() };
        output.Dense.Data.AddRange(vector);
        return new VectorsOutput { Vector = output };
    }

    private static bool WantsVectors(WithVectorsSelector? selector) => selector is { SelectorOptionsCase: WithVectorsSelector.SelectorOptionsOneofCase.Enable, Enable: true };

    /// <summary>The payload a reply carries: none unless asked, all of it, or the included fields, or all but the excluded.</summary>
    private static IEnumerable<KeyValuePair<string, Value>> Select(IReadOnlyDictionary<string, Value> payload, WithPayloadSelector? selector) => selector?.SelectorOptionsCase switch
    {
        WithPayloadSelector.SelectorOptionsOneofCase.Enable when selector.Enable => payload,
        WithPayloadSelector.SelectorOptionsOneofCase.Include => payload.Where(p => selector.Include.Fields.Contains(p.Key)),
        WithPayloadSelector.SelectorOptionsOneofCase.Exclude => payload.Where(p => !selector.Exclude.Fields.Contains(p.Key)),
        _ => [],
    };

    /// <summary>Qdrant's filter: every <c>must</c>, at least one <c>should</c> (when any), no <c>must_not</c>.</summary>
    public static bool Matches(Filter? filter, SimPoint point) =>
        filter is null
        || (filter.Must.All(c => Matches(c, point))
            && (filter.Should.Count == 0 || filter.Should.Any(c => Matches(c, point)))
            && !filter.MustNot.Any(c => Matches(c, point)));

    private static bool Matches(Condition condition, SimPoint point) => condition.ConditionOneOfCase switch
    {
        Condition.ConditionOneOfOneofCase.Field => Matches(condition.Field, point),
        Condition.ConditionOneOfOneofCase.HasId => condition.HasId.HasId.Contains(point.Id),
        Condition.ConditionOneOfOneofCase.Filter => Matches(condition.Filter, point),
        Condition.ConditionOneOfOneofCase.IsEmpty => !point.Payload.TryGetValue(condition.IsEmpty.Key, out var v) || v.KindCase == Value.KindOneofCase.NullValue || v is { KindCase: Value.KindOneofCase.ListValue, ListValue.Values.Count: 0 },
        _ => throw SimQdrantStore.Invalid($"Wrong input: the Sim does not evaluate {condition.ConditionOneOfCase} conditions"),
    };

    private static bool Matches(FieldCondition field, SimPoint point)
    {
        if (field.Match is not { } match)
        {
            throw SimQdrantStore.Invalid($"Wrong input: the Sim evaluates match conditions only (field {field.Key})");
        }

        if (!point.Payload.TryGetValue(field.Key, out var value))
        {
            return false;
        }

        var values = value.KindCase == Value.KindOneofCase.ListValue ? value.ListValue.Values.ToList() : [value];
        return values.Any(v => match.MatchValueCase switch
        {
            Match.MatchValueOneofCase.Keyword => v.KindCase == Value.KindOneofCase.StringValue && v.StringValue == match.Keyword,
            Match.MatchValueOneofCase.Integer => v.KindCase == Value.KindOneofCase.IntegerValue && v.IntegerValue == match.Integer,
            Match.MatchValueOneofCase.Boolean => v.KindCase == Value.KindOneofCase.BoolValue && v.BoolValue == match.Boolean,
            Match.MatchValueOneofCase.Text => v.KindCase == Value.KindOneofCase.StringValue && v.StringValue.Contains(match.Text, StringComparison.OrdinalIgnoreCase),
            Match.MatchValueOneofCase.Keywords => v.KindCase == Value.KindOneofCase.StringValue && match.Keywords.Strings.Contains(v.StringValue),
            Match.MatchValueOneofCase.Integers => v.KindCase == Value.KindOneofCase.IntegerValue && match.Integers.Integers.Contains(v.IntegerValue),
            _ => throw SimQdrantStore.Invalid($"Wrong input: the Sim does not evaluate {match.MatchValueCase} matches"),
        });
    }

    public static string Describe(PointId id) => id.PointIdOptionsCase == PointId.PointIdOptionsOneofCase.Num ? id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture) : id.Uuid;
}

/// <summary>Qdrant's order of point ids (scroll pages, ties): numbers before UUIDs, each ascending.</summary>
internal sealed class PointIds : IComparer<PointId>
{
    public static readonly PointIds Order = new();

    public int Compare(PointId? x, PointId? y)
    {
        var xNum = x?.PointIdOptionsCase == PointId.PointIdOptionsOneofCase.Num;
        var yNum = y?.PointIdOptionsCase == PointId.PointIdOptionsOneofCase.Num;
        if (xNum != yNum)
        {
            return xNum ? -1 : 1;
        }

        return xNum ? x!.Num.CompareTo(y!.Num) : string.CompareOrdinal(x?.Uuid, y?.Uuid);
    }
}
