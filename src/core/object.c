/* mv_object: the header every exporter and view starts with.  Its
 * reference and export counts share one atomic word (internal.h), so
 * objects may be shared between threads (unless the object is local) and
 * a buffer is taken or given back with one atomic operation; everything
 * else about an object is its type's business. */
#include "core.h"

#include <stddef.h>

void mv_object_init(mv_object *obj, const mv_type *type)
{
    if (!obj)
        return;
    atomic_init(&obj->counts, MV_REF_ONE);
    obj->type = type;
    obj->flags = 0;
}

void mv_object_set_local(mv_object *obj)
{
    if (obj)
        obj->flags |= MV_OBJECT_LOCAL;
}

void mv_object_pin(mv_object *obj)
{
    /* Exports taken and given back move a pinned count by less than
     * MV_EXPORTS_MAX (plus a few racing threads): anything that close to
     * MV_REFS_PINNED is pinned already. */
    uint64_t w = atomic_load_explicit(&obj->counts, memory_order_relaxed);
    while (MV_REFS(w) < MV_REFS_PINNED - 2 * MV_EXPORTS_MAX &&
           !atomic_compare_exchange_weak_explicit(&obj->counts, &w,
                                                  w - MV_REFS(w) + MV_REFS_PINNED,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void mv_incref(void *obj)
{
    if (obj)
        mv_ref_add(obj, 0, mv_is_local(obj));
}

void mv_decref(void *obj)
{
    if (!obj)
        return;
    mv_object *o = obj;
    /* One reference and no export, read with acquire, is ours alone: no
     * other thread holds a reference to add one or a buffer to give back,
     * so the locked decrement can be skipped.  Otherwise acq_rel: the
     * thread that frees must see every write made by the threads that
     * dropped their references before it. */
    uint64_t old = atomic_load_explicit(&o->counts, memory_order_acquire);
    if (MV_REFS(old) >= MV_REFS_IMMORTAL)
        return;
    if (old == MV_REF_ONE) {
        atomic_store_explicit(&o->counts, 0, memory_order_relaxed);
    } else if (mv_is_local(o)) {
        atomic_store_explicit(&o->counts, old - MV_REF_ONE, memory_order_relaxed);
    } else {
        old = atomic_fetch_sub_explicit(&o->counts, MV_REF_ONE, memory_order_acq_rel);
    }
    if (MV_REFS(old) == 1 && o->type && o->type->destroy)
        o->type->destroy(o);
}

size_t mv_object_refcount(const void *obj)
{
    if (!obj)
        return 0;
    const mv_object *o = obj;
    return (size_t)MV_REFS(atomic_load_explicit(&((mv_object *)o)->counts, memory_order_relaxed));
}

size_t mv_object_exports(const void *obj)
{
    if (!obj)
        return 0;
    const mv_object *o = obj;
    return (size_t)MV_EXPORTS(
        atomic_load_explicit(&((mv_object *)o)->counts, memory_order_acquire));
}

const char *mv_object_type_name(const void *obj)
{
    if (!obj)
        return "NULL";
    const mv_object *o = obj;
    if (!o->type || !o->type->name)
        return "object";
    return o->type->name;
}
