namespace SparkControl.Web.Components;

/// <summary>
/// What a component last rendered, as a value: a card whose parent re-renders (the dashboard on every health check)
/// tells it what it shows first in <c>OnInitialized</c> (the first render does not ask <c>ShouldRender</c>), then asks
/// <see cref="Changed"/> from <c>ShouldRender</c> and skips its render and diff when what it shows is the same. Only for
/// components whose renders come from their parameters alone, with no state of their own.
/// </summary>
public sealed class RenderedFrom<T>
{
    private T? _last;
    private bool _rendered;

    /// <summary>Whether <paramref name="shown"/> differs from what was shown last; remembers it if so.</summary>
    public bool Changed(T shown)
    {
        if (_rendered && EqualityComparer<T>.Default.Equals(shown, _last))
        {
            return false;
        }

        _last = shown;
        _rendered = true;
        return true;
    }
}

/// <summary>Helpers for a parent that hands <see cref="RenderedFrom{T}"/> cards lists it rebuilds.</summary>
public static class RenderedFrom
{
    /// <summary>
    /// <paramref name="shown"/> itself when <paramref name="next"/> holds the same items, else <paramref name="next"/>: a
    /// list rebuilt with the same content reaches the card as the same instance, which it compares cheaply.
    /// </summary>
    public static IReadOnlyList<T> Kept<T>(IReadOnlyList<T> shown, IReadOnlyList<T> next, IEqualityComparer<T>? comparer = null) =>
        shown.SequenceEqual(next, comparer) ? shown : next;
}
