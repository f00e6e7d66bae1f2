using System.Collections;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;

namespace SparkControl.Core.Collections;

/// <summary>
/// An immutable array with value equality, so records that hold lists (aliases, flags, model roots) compare by
/// content. <c>default</c> is the empty array. Build it with a collection expression: <c>[a, b]</c>.
/// </summary>
[CollectionBuilder(typeof(ValueArray), nameof(ValueArray.Create))]
[System.Text.Json.Serialization.JsonConverter(typeof(ValueArrayJsonConverterFactory))]
public readonly struct ValueArray<T> : IReadOnlyList<T>, IEquatable<ValueArray<T>>
{
    private readonly ImmutableArray<T> _items;

    public ValueArray(ImmutableArray<T> items) => _items = items.IsDefault ? [] : items;

    public ValueArray(IEnumerable<T> items) => _items = [.. items];

    public static ValueArray<T> Empty => default;

    public int Count => _items.IsDefault ? 0 : _items.Length;

    public bool IsEmpty => Count == 0;

    public T this[int index] => _items[index];

    public ImmutableArray<T> AsImmutableArray() => _items.IsDefault ? [] : _items;

    public ValueArray<T> Add(T item) => new(AsImmutableArray().Add(item));

    public bool Equals(ValueArray<T> other) => AsImmutableArray().AsSpan().SequenceEqual(other.AsImmutableArray().AsSpan(), EqualityComparer<T>.Default);

    public override bool Equals(object? obj) => obj is ValueArray<T> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in AsImmutableArray())
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => $"[{string.Join(", ", AsImmutableArray())}]";

    public ImmutableArray<T>.Enumerator GetEnumerator() => AsImmutableArray().GetEnumerator();

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => ((IEnumerable<T>)AsImmutableArray()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable)AsImmutableArray()).GetEnumerator();

    public static bool operator ==(ValueArray<T> left, ValueArray<T> right) => left.Equals(right);

    public static bool operator !=(ValueArray<T> left, ValueArray<T> right) => !left.Equals(right);

    public static implicit operator ValueArray<T>(ImmutableArray<T> items) => new(items);

    public static implicit operator ValueArray<T>(T[] items) => new(ImmutableArray.Create(items));
}

public static class ValueArray
{
    public static ValueArray<T> Create<T>(ReadOnlySpan<T> items) => new(ImmutableArray.Create(items));

    public static ValueArray<T> ToValueArray<T>(this IEnumerable<T> items) => new(items);
}
