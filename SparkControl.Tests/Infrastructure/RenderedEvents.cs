using Bunit;
using Microsoft.AspNetCore.Components;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// Find an element and fire its event in one step on the renderer's thread. Found first and fired later, the handler
/// can be retired by a re-render in between (a live update, a dialog settling), which fails the test on a slow machine.
/// </summary>
public static class RenderedEvents
{
    public static Task ClickAsync<T>(this IRenderedComponent<T> component, string selector)
        where T : IComponent =>
        component.InvokeAsync(() => component.Find(selector).Click());

    /// <summary>Fires a click whose handler goes on (it waits for a dialog's answer) and returns that handler's task.</summary>
    public static async Task<Task> StartClickAsync<T>(this IRenderedComponent<T> component, string selector)
        where T : IComponent
    {
        Task? handler = null;
        // A statement, not an expression: InvokeAsync would otherwise await the handler, which waits for the test.
        await component.InvokeAsync(() =>
        {
            handler = component.Find(selector).ClickAsync(new Microsoft.AspNetCore.Components.Web.MouseEventArgs());
        });
        return handler!;
    }

    public static Task ChangeAsync<T, TValue>(this IRenderedComponent<T> component, string selector, TValue value)
        where T : IComponent =>
        component.InvokeAsync(() => component.Find(selector).Change(value));

    public static Task InputAsync<T>(this IRenderedComponent<T> component, string selector, string value)
        where T : IComponent =>
        component.InvokeAsync(() => component.Find(selector).Input(value));
}
