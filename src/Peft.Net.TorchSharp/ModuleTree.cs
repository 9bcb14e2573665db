using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// Walks and edits any TorchSharp module tree. <see cref="NamedModules"/> lists modules in PyTorch's order
/// (pre-order, depth first, as <c>torch.nn.Module.named_modules</c>; TorchSharp's own is breadth first), and
/// <see cref="Replace"/> swaps a child for another module the way PyTorch's <c>setattr(parent, name, new)</c> does:
/// the parent's field, its registration and its place in <c>state_dict()</c> order all follow.
/// </summary>
internal static class ModuleTree
{
    private const BindingFlags InstanceFields = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    /// <summary>Every module with its dotted path, the root first (path ""), depth first in registration order.</summary>
    public static List<(string Path, nn.Module Module)> NamedModules(nn.Module root)
    {
        var result = new List<(string, nn.Module)>();
        var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
        Visit(root, "", result, seen);
        return result;
    }

    private static void Visit(nn.Module module, string path, List<(string, nn.Module)> result, HashSet<nn.Module> seen)
    {
        if (!seen.Add(module)) return;
        result.Add((path, module));
        foreach (var (name, child) in module.named_children())
            Visit(child, path.Length == 0 ? name : path + "." + name, result, seen);
    }

    /// <summary>The module at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">No module has that path.</exception>
    public static nn.Module Get(nn.Module root, string path)
    {
        var module = root;
        if (path.Length == 0) return module;
        foreach (var name in path.Split('.'))
            module = module.named_children().FirstOrDefault(c => c.name == name).module
                ?? throw new ArgumentException($"The {root.GetType().Name} has no module '{path}' (no child '{name}').");
        return module;
    }

    /// <summary>
    /// Puts <paramref name="replacement"/> where the module at <paramref name="path"/> is: in a <see cref="Sequential"/>,
    /// <c>ModuleList</c> or <c>ModuleDict</c> at the same position, in a custom module in the field(s) that hold the old
    /// module and in its registration (same name, same place, so <c>state_dict()</c> keeps its order).
    /// </summary>
    /// <exception cref="InvalidOperationException">The parent holds the child in a way that cannot take the new module
    /// (a field typed as the sealed <c>Linear</c>, a typed container, or no field at all); the message names the path
    /// and says what to change.</exception>
    public static void Replace(nn.Module root, string path, nn.Module replacement)
    {
        int dot = path.LastIndexOf('.');
        string parentPath = dot < 0 ? "" : path[..dot], name = path[(dot + 1)..];
        var parent = Get(root, parentPath);
        var old = Get(root, path);
        switch (parent)
        {
            case Sequential sequential:
                ReplaceInSequential(sequential, name, replacement, path);
                break;
            default:
                if (IsGeneric(parent.GetType(), typeof(ModuleList<>)) || IsGeneric(parent.GetType(), typeof(ModuleDict<>)))
                    ReplaceInContainer(parent, name, old, replacement, path);
                else
                    ReplaceInFields(parent, old, replacement, path);
                break;
        }
        SetRegistration(parent, name, replacement, path);
    }

    private static void ReplaceInSequential(Sequential sequential, string name, nn.Module replacement, string path)
    {
        if (replacement is not nn.IModule<Tensor, Tensor> typed)
            throw new InvalidOperationException($"'{path}' sits in a Sequential, which holds Module<Tensor, Tensor>; {replacement.GetType().Name} is not one.");
        var names = (List<string>)Field(typeof(Sequential), "_names").GetValue(sequential)!;
        var modules = (IList)Field(typeof(Sequential), "_modules").GetValue(sequential)!;
        int index = names.IndexOf(name);
        if (index < 0) throw new InvalidOperationException($"The Sequential holding '{path}' has no entry '{name}'.");
        modules[index] = typed;
    }

    private static void ReplaceInContainer(nn.Module container, string name, nn.Module old, nn.Module replacement, string path)
    {
        var itemType = container.GetType().GetGenericArguments()[0];
        if (!itemType.IsInstanceOfType(replacement))
            throw new InvalidOperationException(
                $"'{path}' sits in a {Pretty(container.GetType())}, which cannot hold a {replacement.GetType().Name}. " +
                $"Declare the container as {Pretty(container.GetType().GetGenericTypeDefinition())} of Module<Tensor, Tensor> so LoRA can replace its items.");
        var list = (IList)Field(container.GetType(), "_list").GetValue(container)!;
        bool replaced = false;
        for (int i = 0; i < list.Count; i++)
        {
            var item = list[i];
            if (ReferenceEquals(item, old)) { list[i] = replacement; replaced = true; }
            else if (item is ITuple tuple && tuple.Length == 2 && ReferenceEquals(tuple[1], old))
            {
                list[i] = Activator.CreateInstance(item.GetType(), tuple[0], replacement);
                replaced = true;
            }
        }
        if (Field(container.GetType(), "_dict", optional: true)?.GetValue(container) is IDictionary dict && dict.Contains(name))
            dict[name] = replacement;
        if (!replaced) throw new InvalidOperationException($"The container holding '{path}' does not list it.");
    }

    private static void ReplaceInFields(nn.Module parent, nn.Module old, nn.Module replacement, string path)
    {
        int found = 0;
        for (var type = parent.GetType(); type is not null && type != typeof(nn.Module); type = type.BaseType)
        {
            foreach (var field in type.GetFields(InstanceFields))
            {
                var value = field.GetValue(parent);
                if (ReferenceEquals(value, old))
                {
                    if (!field.FieldType.IsInstanceOfType(replacement))
                        throw new InvalidOperationException(
                            $"Cannot replace '{path}': {Pretty(type)}.{FieldName(field)} is declared as {Pretty(field.FieldType)}, which cannot hold a " +
                            $"{replacement.GetType().Name}{(field.FieldType.IsSealed ? $" ({Pretty(field.FieldType)} is sealed)" : "")}. " +
                            $"Declare the field as nn.Module<Tensor, Tensor> (and call it through that type) so PEFT layers can take its place.");
                    if (field.IsInitOnly)
                        throw new InvalidOperationException($"Cannot replace '{path}': {Pretty(type)}.{FieldName(field)} is readonly. Remove 'readonly' from the field.");
                    field.SetValue(parent, replacement);
                    found++;
                }
                else if (value is IList && value is not nn.Module)
                {
                    var elementType = value is Array array ? array.GetType().GetElementType()! : ListElementType(value.GetType());
                    for (int i = 0; i < ((IList)value).Count; i++)
                    {
                        if (!ReferenceEquals(((IList)value)[i], old)) continue;
                        if (elementType is null || !elementType.IsInstanceOfType(replacement))
                            throw new InvalidOperationException(
                                $"Cannot replace '{path}': {Pretty(type)}.{FieldName(field)} holds it in a {Pretty(value.GetType())}, which cannot hold a {replacement.GetType().Name}. " +
                                "Declare the collection's items as nn.Module<Tensor, Tensor>.");
                        ((IList)value)[i] = replacement;
                        found++;
                    }
                }
            }
        }
        if (found == 0)
            throw new InvalidOperationException(
                $"Cannot replace '{path}': no field of {Pretty(parent.GetType())} holds it, so its forward pass would keep calling the old module. " +
                "Keep submodules in fields (registered with RegisterComponents() or register_module) so PEFT layers can take their place.");
    }

    /// <summary>Swaps the registered child in place (same key, same position) in the parent's submodule dictionary.</summary>
    private static void SetRegistration(nn.Module parent, string name, nn.Module replacement, string path)
    {
        var submodules = Field(typeof(nn.Module), "_internal_submodules").GetValue(parent)!;
        var indexer = submodules.GetType().GetProperty("Item", [typeof(string)])!;
        var contains = submodules.GetType().GetMethod("ContainsKey")!;
        if ((bool)contains.Invoke(submodules, [name])!)
            indexer.SetValue(submodules, replacement, [name]);
        else if (parent is not Sequential)
            throw new InvalidOperationException($"'{path}' is not registered in its parent; call RegisterComponents() in the parent's constructor.");
    }

    private static FieldInfo Field(Type type, string name, bool optional = false)
    {
        for (var t = type; t is not null; t = t.BaseType)
            if (t.GetField(name, InstanceFields) is { } field) return field;
        return optional ? null! : throw new InvalidOperationException($"TorchSharp's {type.Name} has no field '{name}'; this TorchSharp version is not supported.");
    }

    private static Type? ListElementType(Type type) =>
        type.GetInterfaces().Concat([type]).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IList<>))?.GetGenericArguments()[0];

    private static bool IsGeneric(Type? type, Type definition)
    {
        for (; type is not null; type = type.BaseType)
            if (type.IsGenericType && type.GetGenericTypeDefinition() == definition) return true;
        return false;
    }

    private static string FieldName(FieldInfo field) =>
        field.Name.StartsWith('<') && field.Name.Contains(">k__BackingField") ? field.Name[1..field.Name.IndexOf('>')] : field.Name;

    private static string Pretty(Type type) =>
        !type.IsGenericType ? type.Name : $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(Pretty))}>";
}
