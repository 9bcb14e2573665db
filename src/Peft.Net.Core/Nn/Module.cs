namespace Peft.Net.Core.Nn;

/// <summary>
/// Base class of every layer and model: an ordered registry of parameters, buffers and submodules with
/// PyTorch's naming (<c>model.layers.0.self_attn.q_proj.weight</c>). Registration is explicit; nothing is
/// discovered by reflection. Subclasses read their children back through <see cref="Child{T}"/> and
/// <see cref="Parameter"/> in their forward pass, so <see cref="ReplaceSubmodule"/> and
/// <see cref="ReplaceParameter"/> (model surgery, quantization) take effect immediately.
/// </summary>
public abstract class Module
{
    private readonly OrderedDictionary<string, Tensor?> _parameters = new();
    private readonly OrderedDictionary<string, (Tensor Tensor, bool Persistent)> _buffers = new();
    private readonly OrderedDictionary<string, Module> _modules = new();

    /// <summary>True in training mode (dropout and noise active), false after <see cref="Eval"/>.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>
    /// The forward pass of a module with one input and one output (linear layers, norms, activations).
    /// Modules with other signatures expose their own methods and leave this unimplemented.
    /// </summary>
    /// <exception cref="NotSupportedException">The module does not have a single-tensor forward.</exception>
    public virtual Tensor Forward(Tensor input) =>
        throw new NotSupportedException($"{GetType().Name} has no single-input Forward; call its own methods.");

    /// <summary>Registers a submodule under <paramref name="name"/> (declaration order is kept) and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(module);
        _modules.Add(name, module);
        return module;
    }

    /// <summary>
    /// Registers a parameter. F32 parameters are marked trainable (<see cref="Tensor.RequiresGrad"/>);
    /// F16/BF16 parameters are frozen storage. A null parameter (e.g. an absent bias) reserves the name.
    /// </summary>
    protected Tensor? RegisterParameter(string name, Tensor? parameter)
    {
        CheckName(name);
        if (parameter is not null && parameter.DType == DType.F32 && parameter.IsLeaf)
            parameter.RequiresGrad = true;
        _parameters.Add(name, parameter);
        return parameter;
    }

    /// <summary>Registers a buffer: state that is not trained; persistent buffers are part of the state dict.</summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer, bool persistent = true)
    {
        CheckName(name);
        _buffers.Add(name, (buffer, persistent));
        return buffer;
    }

    /// <summary>The registered submodule <paramref name="name"/> as <typeparamref name="T"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such submodule.</exception>
    /// <exception cref="InvalidCastException">It is not a <typeparamref name="T"/>.</exception>
    protected T Child<T>(string name) where T : class
    {
        if (!_modules.TryGetValue(name, out var module))
            throw new KeyNotFoundException($"{GetType().Name} has no submodule '{name}'.");
        return module as T ?? throw new InvalidCastException(
            $"Submodule '{name}' of {GetType().Name} is a {module.GetType().Name}, not a {typeof(T).Name}.");
    }

    /// <summary>The registered parameter <paramref name="name"/> (null when registered as absent).</summary>
    protected Tensor? Parameter(string name) =>
        _parameters.TryGetValue(name, out var p) ? p : throw new KeyNotFoundException($"{GetType().Name} has no parameter '{name}'.");

    /// <summary>The registered buffer <paramref name="name"/>.</summary>
    protected Tensor Buffer(string name) =>
        _buffers.TryGetValue(name, out var b) ? b.Tensor : throw new KeyNotFoundException($"{GetType().Name} has no buffer '{name}'.");

    /// <summary>Direct submodules in declaration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        foreach (var (name, module) in _modules) yield return (name, module);
    }

    /// <summary>This module (named "") and all its descendants, depth first in declaration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        return NamedModules("", seen);
    }

    private IEnumerable<(string Name, Module Module)> NamedModules(string prefix, HashSet<Module> seen)
    {
        if (!seen.Add(this)) yield break;
        yield return (prefix, this);
        foreach (var (name, child) in _modules)
            foreach (var entry in child.NamedModules(Join(prefix, name), seen))
                yield return entry;
    }

    /// <summary>
    /// Every parameter with its dotted path, in declaration order. A tensor registered in several places
    /// (tied weights) is listed once, under its first name.
    /// </summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, module) in NamedModules())
            foreach (var (name, p) in module._parameters)
                if (p is not null && seen.Add(p))
                    yield return (Join(prefix, name), p);
    }

    /// <summary>Every parameter, in declaration order, each once.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(e => e.Parameter);

    /// <summary>Parameters that require gradients.</summary>
    public IEnumerable<Tensor> TrainableParameters() => Parameters().Where(p => p.RequiresGrad);

    /// <summary>Every buffer with its dotted path.</summary>
    public IEnumerable<(string Name, Tensor Buffer, bool Persistent)> NamedBuffers()
    {
        foreach (var (prefix, module) in NamedModules())
            foreach (var (name, b) in module._buffers)
                yield return (Join(prefix, name), b.Tensor, b.Persistent);
    }

    /// <summary>Number of parameter elements (each tied tensor counted once).</summary>
    public long ParameterCount(bool trainableOnly = false) =>
        Parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => (long)p.Count);

    /// <summary>Sets training mode on this module and all descendants.</summary>
    public Module Train(bool training = true)
    {
        foreach (var (_, module) in NamedModules()) module.IsTraining = training;
        return this;
    }

    /// <summary>Sets evaluation mode (dropout and noise off) on this module and all descendants.</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears the gradients of every parameter.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.Grad = null;
    }

    /// <summary>Freezes (or unfreezes) every F32 parameter.</summary>
    public void RequiresGrad(bool requiresGrad)
    {
        foreach (var p in Parameters())
            if (p.DType == DType.F32) p.RequiresGrad = requiresGrad;
    }

    /// <summary>
    /// Parameters, persistent buffers and extra state (<see cref="ExtraStateTensors"/>, e.g. a 4-bit weight in
    /// bitsandbytes' key layout) by dotted name, in declaration order (tensors are shared, not copied).
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict() => CollectState(includeExtra: true);

    /// <summary>
    /// State this module keeps outside its registered parameters and buffers, as (key relative to this module, tensor)
    /// pairs that <see cref="StateDict"/> includes. Keys may contain dots: a 4-bit linear layer returns
    /// <c>weight</c>, <c>weight.absmax</c>, <c>weight.quant_map</c>, … (PyTorch's <c>_save_to_state_dict</c> hook,
    /// which bitsandbytes' <c>Linear4bit</c> overrides the same way). Default: none.
    /// </summary>
    protected virtual IEnumerable<KeyValuePair<string, Tensor>> ExtraStateTensors() => [];

    /// <summary>
    /// Whether <paramref name="key"/> (relative to this module) names part of its extra state, so that
    /// <see cref="LoadStateDict"/> hands it to <see cref="PrepareExtraState"/> rather than reporting it unexpected.
    /// Default: false.
    /// </summary>
    protected virtual bool IsExtraStateKey(string key) => false;

    /// <summary>
    /// Validates the extra state <see cref="LoadStateDict"/> found for this module (every entry whose key
    /// <see cref="IsExtraStateKey"/> accepts, keys relative to this module; at least one) and returns the action that
    /// installs it. It is called for every module before anything is copied, so a rejected state leaves the whole
    /// model unchanged: throw <see cref="ArgumentException"/> naming the key and the problem.
    /// </summary>
    protected virtual Action PrepareExtraState(IReadOnlyDictionary<string, Tensor> state) =>
        throw new NotSupportedException($"{GetType().Name} accepts extra state keys but does not load them.");

    /// <summary>Parameters, persistent buffers and (optionally) extra state by dotted name, in declaration order.</summary>
    private OrderedDictionary<string, Tensor> CollectState(bool includeExtra)
    {
        var state = new OrderedDictionary<string, Tensor>();
        foreach (var (prefix, module) in NamedModules())
        {
            foreach (var (name, p) in module._parameters)
                if (p is not null) state.TryAdd(Join(prefix, name), p);
            foreach (var (name, b) in module._buffers)
                if (b.Persistent) state.TryAdd(Join(prefix, name), b.Tensor);
            if (includeExtra)
                foreach (var (key, tensor) in module.ExtraStateTensors())
                    state.TryAdd(Join(prefix, key), tensor);
        }
        return state;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's parameters and persistent buffers
    /// (converting between F32/F16/BF16 as needed), and hands extra state (a 4-bit weight's parts) to the module that
    /// owns it, which rebuilds it from the given tensors. With <paramref name="strict"/> any missing or unexpected
    /// key is an error; otherwise they are reported in the result. A module with extra state counts as missing its
    /// keys when none of them is given.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// A shape differs, a dtype cannot be converted, extra state is invalid, or (strict) keys are missing or
    /// unexpected; the message lists them. Nothing is copied then.
    /// </exception>
    public LoadStateDictResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = CollectState(includeExtra: false);
        var extra = RouteExtraState(state, own);
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        foreach (var (prefix, module) in NamedModules())
            if (!extra.ContainsKey(module))
                missing.AddRange(module.ExtraStateTensors().Select(e => Join(prefix, e.Key)).Where(k => !own.ContainsKey(k)));
        var routed = new HashSet<string>(extra.Values.SelectMany(e => e.Entries.Keys), StringComparer.Ordinal);
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k) && !routed.Contains(k)).ToList();
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new ArgumentException(
                $"State dict does not match {GetType().Name}: missing keys [{string.Join(", ", missing)}], unexpected keys [{string.Join(", ", unexpected)}].");
        // Check every entry before copying any, so a rejected state leaves the module unchanged.
        foreach (var (key, target) in own)
        {
            if (!state.TryGetValue(key, out var source)) continue;
            if (!source.SameShape(target))
                throw new ArgumentException($"State dict entry '{key}': {source.Describe()} does not match the module's {target.Describe()}.");
            if (source.DType != target.DType && (!source.DType.IsFloatingPoint() || !target.DType.IsFloatingPoint()))
                throw new ArgumentException($"State dict entry '{key}': cannot convert {source.DType} into {target.DType}.");
        }
        var installs = new List<Action>(extra.Count);
        foreach (var (module, (prefix, entries)) in extra)
        {
            var local = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (key, tensor) in entries) local.Add(prefix.Length == 0 ? key : key[(prefix.Length + 1)..], tensor);
            try
            {
                installs.Add(module.PrepareExtraState(local));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"State dict entries of '{prefix}' ({module.GetType().Name}): {e.Message}", e);
            }
        }
        foreach (var (key, target) in own)
            if (state.TryGetValue(key, out var source))
                CopyInto(source, target);
        foreach (var install in installs) install();
        return new LoadStateDictResult(missing, unexpected);
    }

    /// <summary>For each module with extra state in <paramref name="state"/>: its path and those entries (full keys).</summary>
    private Dictionary<Module, (string Prefix, Dictionary<string, Tensor> Entries)> RouteExtraState(
        IReadOnlyDictionary<string, Tensor> state, OrderedDictionary<string, Tensor> own)
    {
        var routes = new Dictionary<Module, (string, Dictionary<string, Tensor>)>(ReferenceEqualityComparer.Instance);
        var modules = NamedModules().OrderByDescending(m => m.Name.Length).ToList(); // the deepest owner wins
        foreach (var (key, tensor) in state)
        {
            if (own.ContainsKey(key)) continue;
            foreach (var (prefix, module) in modules)
            {
                if (prefix.Length > 0 && !(key.Length > prefix.Length + 1 && key.StartsWith(prefix, StringComparison.Ordinal) && key[prefix.Length] == '.'))
                    continue;
                string local = prefix.Length == 0 ? key : key[(prefix.Length + 1)..];
                if (!module.IsExtraStateKey(local)) continue;
                if (!routes.TryGetValue(module, out var route))
                    routes[module] = route = (prefix, new Dictionary<string, Tensor>(StringComparer.Ordinal));
                route.Item2.Add(key, tensor);
                break;
            }
        }
        return routes;
    }

    private static void CopyInto(Tensor source, Tensor target)
    {
        if (source.DType == target.DType)
        {
            Array.Copy(source.Storage, source.Offset, target.Storage, target.Offset, source.Count);
            return;
        }
        var converted = source.To(target.DType);
        Array.Copy(converted.Storage, converted.Offset, target.Storage, target.Offset, converted.Count);
    }

    /// <summary>The submodule at a dotted path such as <c>layers.0.self_attn</c> ("" is this module).</summary>
    /// <exception cref="KeyNotFoundException">A path segment does not exist; the message names it.</exception>
    public Module GetSubmodule(string path)
    {
        Module current = this;
        if (path.Length == 0) return current;
        foreach (var segment in path.Split('.'))
        {
            if (!current._modules.TryGetValue(segment, out var next))
                throw new KeyNotFoundException($"No submodule '{segment}' on the path '{path}' ({current.GetType().Name} has [{string.Join(", ", current._modules.Keys)}]).");
            current = next;
        }
        return current;
    }

    /// <summary>Replaces the submodule at a dotted path with <paramref name="replacement"/> and returns the old one.</summary>
    public Module ReplaceSubmodule(string path, Module replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        var (parent, name) = SplitPath(path);
        if (!parent._modules.TryGetValue(name, out var old))
            throw new KeyNotFoundException($"No submodule '{path}' to replace.");
        parent._modules[name] = replacement;
        replacement.Train(IsTraining && old.IsTraining);
        return old;
    }

    /// <summary>
    /// Replaces the parameter at a dotted path (e.g. <c>lm_head.weight</c>) with another tensor of the same shape,
    /// possibly of another storage dtype. Returns the old tensor.
    /// </summary>
    public Tensor? ReplaceParameter(string path, Tensor? value)
    {
        var (owner, name) = SplitPath(path);
        if (!owner._parameters.TryGetValue(name, out var old))
            throw new KeyNotFoundException($"No parameter '{path}'.");
        if (old is not null && value is not null && !old.SameShape(value))
            throw new ArgumentException($"Parameter '{path}': replacement {value.Describe()} does not match {old.Describe()}.");
        owner._parameters[name] = value;
        return old;
    }

    private (Module Parent, string Name) SplitPath(string path)
    {
        if (string.IsNullOrEmpty(path))
            throw new ArgumentException("The path of a submodule or parameter cannot be empty.", nameof(path));
        int dot = path.LastIndexOf('.');
        return dot < 0 ? (this, path) : (GetSubmodule(path[..dot]), path[(dot + 1)..]);
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"'{name}' is not a valid name: it must be non-empty and contain no '.'.", nameof(name));
        if (_parameters.ContainsKey(name) || _buffers.ContainsKey(name) || _modules.ContainsKey(name))
            throw new ArgumentException($"{GetType().Name} already has a member named '{name}'.", nameof(name));
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}

/// <summary>Keys reported by a non-strict <see cref="Module.LoadStateDict"/>.</summary>
/// <param name="MissingKeys">Keys the module has but the state did not provide.</param>
/// <param name="UnexpectedKeys">Keys the state had that the module does not.</param>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
